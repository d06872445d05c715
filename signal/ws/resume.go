package ws

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/internal/wsconn"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/signal/resume"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Resumable sessions. A client that connects with the query parameter resumable=1
// gets a session that outlives its connection: the first message is a session
// message with a resume token, and every message after it is numbered from 1 by its
// order (the client counts them; WebSocket delivers in order). When the connection
// drops without a close frame (the network went away: a read or write fails, a ping
// goes unanswered), the session waits for Pending's grace period; a connection with
// resume=<token>&last=<the number of messages received> takes it over, gets a resumed
// message and then the messages after last, and the participant never left. A close
// frame from the client, a leave, or the grace period passing ends the session.

var (
	// ErrConnectionLost ends a resumable session whose client did not come back
	// within the grace period.
	ErrConnectionLost = errors.New("websocket connection lost")
	// errDetached: the connection of a resumable session dropped; the session waits.
	errDetached = errors.New("connection dropped: the session waits for its client")
	// errTakenOver: a newer connection resumed the session.
	errTakenOver = errors.New("the session resumed on another connection")
	// errCannotResume: the connection named a session it cannot resume.
	errCannotResume = errors.New("cannot resume the session")
)

// resumable is one resumable session: its signaling session and the numbered
// messages of it that connections take.
type resumable struct {
	id, secret string
	sig        *signal.Session
	out        *resume.Outbox
}

// token is what resumes rs: its id and secret.
func (rs *resumable) token() string { return rs.id + "." + rs.secret }

// registry holds the resumable sessions of a Handler.
type registry struct {
	mu   sync.Mutex
	byID map[string]*resumable
	wg   sync.WaitGroup // one per session's run
}

// resumeRequest says what kind of connection r asks for: a resumption (the token,
// the number of messages received), a new resumable session, or neither.
func resumeRequest(r *http.Request) (token, last string, resumable bool) {
	q := r.URL.Query()
	if q.Has("resume") {
		return q.Get("resume"), q.Get("last"), true
	}
	return "", "", q.Get("resumable") == "1"
}

// serveNew runs a new resumable session on c.
func (h *Handler) serveNew(c *wsconn.Conn, r *http.Request) {
	rs := &resumable{id: "w_" + resume.Token(16), secret: resume.Token(32), out: resume.NewOutbox()}
	rs.sig = h.newSession(rs.out, r)
	gen, wake, _ := rs.out.Attach(0) // a new outbox takes any first connection
	h.start(rs)
	c.Send(encode(wire.TypeSession, wire.Session{Resume: rs.token()}))
	h.attach(c, rs, gen, wake)
}

// serveResume attaches c to the session token names, after the message last; when it
// cannot, the client is told cannot-resume and the connection closes.
func (h *Handler) serveResume(c *wsconn.Conn, token, lastText string) {
	rs := h.lookup(token)
	last, err := strconv.ParseUint(lastText, 10, 64)
	var (
		gen  uint64
		wake <-chan struct{}
	)
	switch {
	case rs == nil:
		err = errors.New("no such session: it has ended, or never existed")
	case err != nil:
		err = errors.New("last is not the number of a message")
	default:
		gen, wake, err = rs.out.Attach(last)
	}
	if err != nil {
		c.Log().Info("websocket session cannot resume", "err", err)
		c.Send(encode(wire.TypeError, wire.Error{Code: wire.CodeCannotResume, Message: "cannot resume the session: " + err.Error()}))
		_ = c.Serve(h.context(), refused{})
		return
	}
	c.Log().Info("websocket session resumed", "session", rs.id, "last", last)
	c.Send(encode(wire.TypeResumed, wire.Resumed{Last: last}))
	h.attach(c, rs, gen, wake)
}

// attach serves c as the connection of rs until the session ends, another
// connection takes over, or c drops: then the grace period starts.
func (h *Handler) attach(c *wsconn.Conn, rs *resumable, gen uint64, wake <-chan struct{}) {
	a := &attachment{rs: rs, gen: gen, wake: wake, conn: c, lost: make(chan error, 1)}
	if reason := c.Serve(h.context(), a); reason == errDetached {
		c.Log().Info("websocket dropped: the session waits for its client", "session", rs.id,
			"grace", h.Pending.GracePeriod())
		h.Pending.Lost(rs.out, gen, func() { rs.sig.End(ErrConnectionLost) })
	}
}

// start registers rs and runs its session until it ends.
func (h *Handler) start(rs *resumable) {
	reg := &h.resumables
	reg.mu.Lock()
	if reg.byID == nil {
		reg.byID = map[string]*resumable{}
	}
	reg.byID[rs.id] = rs
	reg.wg.Add(1)
	reg.mu.Unlock()
	go func() {
		defer reg.wg.Done()
		reason := h.runResumable(rs)
		rs.out.End(reason)
		reg.mu.Lock()
		delete(reg.byID, rs.id)
		reg.mu.Unlock()
	}()
}

// runResumable runs rs's session and returns why it ended. A panic in it ends the
// session alone, with signal.ErrInternal.
func (h *Handler) runResumable(rs *resumable) (reason error) {
	defer safe.Recover(h.logger().With("transport", "websocket", "session", rs.id), "websocket session",
		func(error) { reason = signal.ErrInternal })
	return rs.sig.Run(h.context())
}

// lookup returns the session token resumes, nil when none. The secret is compared in
// constant time.
func (h *Handler) lookup(token string) *resumable {
	id, secret, _ := strings.Cut(token, ".")
	reg := &h.resumables
	reg.mu.Lock()
	rs := reg.byID[id]
	reg.mu.Unlock()
	if rs == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(rs.secret)) != 1 {
		return nil
	}
	return rs
}

// Close waits for the resumable sessions, which end with Context. A handler without
// them returns at once.
func (h *Handler) Close() { h.resumables.wg.Wait() }

// attachment is one connection of a resumable session, served by wsconn: frames go
// to the session, its numbered messages come from the outbox.
type attachment struct {
	rs   *resumable
	gen  uint64
	wake <-chan struct{}
	conn *wsconn.Conn
	lost chan error // why the connection failed, from its goroutines
}

func (a *attachment) Deliver(frame []byte) bool { return a.rs.sig.Deliver(frame) }

// End is called by the connection's goroutines when it fails.
func (a *attachment) End(err error) {
	select {
	case a.lost <- err:
	default:
	}
}

// Run hands the session's messages to the connection until the session ends (its
// reason is returned: the close status says it), another connection takes over, or
// the connection fails.
func (a *attachment) Run(ctx context.Context) error {
	for {
		select {
		case <-a.wake:
			events, _, ended, err := a.rs.out.Take(a.gen)
			if err != nil {
				return errTakenOver
			}
			for _, ev := range events {
				if !a.conn.Send(ev) { // the client is not reading: as without resuming
					a.rs.sig.End(signal.ErrSlowConsumer)
					return signal.ErrSlowConsumer
				}
			}
			if ended {
				return a.rs.out.EndReason()
			}
		case err := <-a.lost:
			return a.failed(err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// failed decides what a failure of the connection means: a close frame from the
// client or a panic serving it ends the session; a network failure detaches it.
func (a *attachment) failed(err error) error {
	_, panicked := errors.AsType[*safe.Error](err)
	if panicked || websocket.CloseStatus(err) != -1 {
		a.rs.sig.End(err)
		return err
	}
	return errDetached // a read or write failed, or a ping went unanswered
}

// refused is the session of a connection that could not resume: it ends at once,
// after the error queued for the client is written.
type refused struct{}

func (refused) Deliver([]byte) bool       { return false }
func (refused) End(error)                 {}
func (refused) Run(context.Context) error { return errCannotResume }

// encode is a transport message; its bodies always encode.
func encode(typ string, body any) []byte {
	b, _ := wire.Encode(wire.Envelope{Type: typ}, body)
	return b
}
