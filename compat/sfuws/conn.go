package sfuws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/internal/wsconn"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// message is the sfu-ws protocol's only message shape. Data is a JSON document
// encoded as a string: a session description or an ICE candidate.
type message struct {
	Event string `json:"event"`
	Data  string `json:"data"`
}

// The events of the protocol.
const (
	eventOffer     = "offer"
	eventAnswer    = "answer"
	eventCandidate = "candidate"
)

// conn is one sfu-ws client: the protocol's session on a wsconn connection. The
// reader applies its messages to the participant; the participant's events, turned
// into messages by the observer, go out through the connection's one writer.
type conn struct {
	c     *wsconn.Conn
	ended chan error // first reason to end

	limit *ratelimit.Limiter // owned by the reader (Deliver); nil means no limit
	p     *sfu.Participant   // set by serve before the connection is served
}

var _ wsconn.Session = (*conn)(nil)

func newConn(c *wsconn.Conn, limit *ratelimit.Limiter) *conn {
	return &conn{c: c, limit: limit, ended: make(chan error, 1)}
}

// serve joins the room, runs the connection until it ends and leaves.
func (k *conn) serve(ctx context.Context, rooms Rooms, room sfu.RoomID, name string, opts sfu.JoinOptions) {
	opts.SingleConnection = true
	opts.Transport = "sfu-ws"
	p, err := rooms.JoinWith(room, name, sfu.Observers{Connection: &observer{k: k}}, opts)
	if err != nil {
		k.c.Close(&joinError{err})
		return
	}
	k.p = p
	_ = k.c.Serve(ctx, k)
}

// Run waits until the connection ends, takes the participant out of its room and
// returns why.
func (k *conn) Run(ctx context.Context) error {
	var reason error
	select {
	case reason = <-k.ended:
	case <-ctx.Done():
		reason = ctx.Err()
	}
	k.p.Leave()
	return reason
}

// End ends the connection for err; it never blocks, and the first reason wins.
func (k *conn) End(err error) {
	select {
	case k.ended <- err:
	default:
	}
}

// Deliver applies one message from the client. A malformed one ends the connection:
// the protocol has no error message.
func (k *conn) Deliver(frame []byte) bool {
	if err := k.admit(frame); err != nil {
		k.End(err)
		return false
	}
	return true
}

// admit applies frame if the client is within its message rate, drops it if it is
// over, and fails if the client is far over.
func (k *conn) admit(frame []byte) error {
	if k.limit != nil {
		switch k.limit.Take(time.Now()) {
		case ratelimit.Refuse:
			return nil // the protocol cannot say so: dropped
		case ratelimit.Cut:
			return errRateLimited
		}
	}
	return apply(k.p.Subscriber(), frame)
}

// badMessage is a message the server cannot use; it ends the connection.
type badMessage struct{ err error }

func (e *badMessage) Error() string { return "bad message: " + e.err.Error() }

// apply decodes one message and hands it to the subscriber, which owns the
// connection's negotiation.
func apply(sub *sfu.Subscriber, frame []byte) error {
	var m message
	if err := json.Unmarshal(frame, &m); err != nil {
		return &badMessage{errors.New("not a JSON object {\"event\", \"data\"}")}
	}
	switch m.Event {
	case eventAnswer:
		var d webrtc.SessionDescription
		if err := json.Unmarshal([]byte(m.Data), &d); err != nil || d.Type != webrtc.SDPTypeAnswer {
			return &badMessage{errors.New("answer data is not a JSON answer {\"type\": \"answer\", \"sdp\"}")}
		}
		return badIf(sub.Answer(d.SDP))
	case eventCandidate:
		var c webrtc.ICECandidateInit
		if err := json.Unmarshal([]byte(m.Data), &c); err != nil {
			return &badMessage{errors.New("candidate data is not a JSON ICE candidate")}
		}
		return badIf(sub.AddCandidate(c))
	}
	return &badMessage{fmt.Errorf("unknown event %.32q", m.Event)}
}

func badIf(err error) error {
	if err == nil || errors.Is(err, sfu.ErrClosed) {
		return err
	}
	return &badMessage{err}
}

// send queues a message; it never blocks, and a full queue ends the connection.
func (k *conn) send(event string, data any) {
	d, err := json.Marshal(data)
	if err != nil {
		k.c.Log().Error("cannot encode", "event", event, "err", err)
		return
	}
	b, _ := json.Marshal(message{Event: event, Data: string(d)})
	if !k.c.Send(b) {
		k.End(errSlowConsumer)
	}
}

var (
	errSlowConsumer = errors.New("slow consumer")
	errRateLimited  = errors.New("rate limited: too many messages")
)

// joinError: the room refused the client after the upgrade (a limit reached).
type joinError struct{ err error }

func (e *joinError) Error() string { return "cannot join: " + e.err.Error() }

func (e *joinError) Unwrap() error { return e.err }

// closeStatus maps why a connection ended to its WebSocket close status; wsconn maps
// its own reasons (a panic, no pong, the server shutting down) itself.
func closeStatus(reason error) (websocket.StatusCode, string) {
	var bad *badMessage
	var refused *joinError
	switch {
	case errors.As(reason, &bad):
		return websocket.StatusPolicyViolation, bad.Error()
	case errors.As(reason, &refused):
		return websocket.StatusTryAgainLater, refused.Error()
	case errors.Is(reason, errSlowConsumer):
		return websocket.StatusPolicyViolation, "slow consumer"
	case errors.Is(reason, errRateLimited):
		return websocket.StatusPolicyViolation, "rate limited"
	case errors.Is(reason, sfu.ErrReplaced):
		return websocket.StatusPolicyViolation, "replaced by a new connection with the same identity"
	case errors.Is(reason, sfu.ErrRemoved):
		return websocket.StatusPolicyViolation, "removed by an administrator"
	case errors.Is(reason, sfu.ErrRoomClosed):
		return websocket.StatusPolicyViolation, "room closed by an administrator"
	case errors.Is(reason, roster.ErrMoved):
		return websocket.StatusTryAgainLater, "the room moved to another node: connect again"
	}
	return websocket.StatusNormalClosure, ""
}
