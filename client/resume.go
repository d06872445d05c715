package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/wire"
)

// ErrCannotResume is why a client's connection ended when the server could not resume
// its session (it ended in the meantime: the client stayed away longer than the
// server's grace period). Join again.
var ErrCannotResume = errors.New("client: the server cannot resume the session")

const (
	// wsPingEvery and wsPongWithin: a connection whose pings go unanswered is taken
	// for gone and reopened, as one whose reads fail.
	wsPingEvery  = 5 * time.Second
	wsPongWithin = 5 * time.Second
	// backoffMax caps the wait between two attempts to reconnect.
	backoffMax = 2 * time.Second
)

// resumingWS is the native protocol over a WebSocket that resumes its session when
// the connection drops (Options.Reconnect): it opens a resumable session, counts the
// messages it receives, and reconnects with its resume token and that count, with
// backoff, for resumeFor. Read is called by one goroutine; Write by one at a time.
type resumingWS struct {
	url   string
	opts  websocket.DialOptions
	ctx   context.Context // ends everything on Close
	close context.CancelFunc

	mu      sync.Mutex
	conn    *websocket.Conn
	changed chan struct{} // closed when conn is replaced

	// Owned by the reader.
	token    string
	received uint64

	resumed atomic.Int64
}

func dialResuming(ctx context.Context, url string, hc *http.Client, token string) (*resumingWS, error) {
	w := &resumingWS{url: url, opts: websocket.DialOptions{HTTPClient: hc}, changed: make(chan struct{})}
	if token != "" {
		w.opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	}
	w.ctx, w.close = context.WithCancel(context.Background())
	conn, err := w.dial(ctx, neturl.Values{"resumable": {"1"}})
	if err == nil {
		err = w.expect(ctx, conn, wire.TypeSession)
	}
	if err != nil {
		w.close()
		return nil, err
	}
	w.swap(conn)
	return w, nil
}

// dial opens a connection to the URL with query added to its own.
func (w *resumingWS) dial(ctx context.Context, query neturl.Values) (*websocket.Conn, error) {
	u, err := neturl.Parse(w.url)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	conn, resp, err := websocket.Dial(ctx, u.String(), &w.opts)
	if err != nil {
		return nil, refusal(resp, err)
	}
	conn.SetReadLimit(1 << 20) // as dial's
	return conn, nil
}

// expect reads the transport message a new connection starts with: typ (session or
// resumed), or the error cannot-resume.
func (w *resumingWS) expect(ctx context.Context, conn *websocket.Conn, typ string) error {
	_, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return err
	}
	env, err := wire.DecodeFromServer(b)
	if err == nil && env.Type == wire.TypeSession {
		var s wire.Session
		if err = wire.DecodeBody(b, &s); err == nil {
			w.token = s.Resume
		}
	}
	switch {
	case err != nil:
	case env.Type == wire.TypeError:
		var e wire.Error
		_ = wire.DecodeBody(b, &e)
		err = fmt.Errorf("%w: %s", ErrCannotResume, e.Message)
	case env.Type != typ:
		err = fmt.Errorf("client: first message %q, want %q", env.Type, typ)
	}
	if err != nil {
		conn.CloseNow()
	}
	return err
}

// swap makes conn the current connection and starts pinging it.
func (w *resumingWS) swap(conn *websocket.Conn) {
	w.mu.Lock()
	w.conn = conn
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	go w.ping(conn)
}

func (w *resumingWS) current() (*websocket.Conn, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn, w.changed
}

// ping closes conn when a ping goes unanswered: the network went away without a
// word, and the reader is then free to reconnect.
func (w *resumingWS) ping(conn *websocket.Conn) {
	t := time.NewTicker(wsPingEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(w.ctx, wsPongWithin)
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			conn.CloseNow()
			return
		}
	}
}

// Read returns the next message of the session, reconnecting when the connection
// drops. It fails when the server closes the connection (the session ended), when
// the session cannot be resumed, or when reconnecting takes longer than resumeFor.
func (w *resumingWS) Read(ctx context.Context) ([]byte, error) {
	for {
		conn, _ := w.current()
		_, b, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != -1 || w.ctx.Err() != nil || ctx.Err() != nil {
				return nil, err // the server closed it: the session is over
			}
			if err := w.reconnect(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if env, err := wire.DecodeFromServer(b); err == nil && (env.Type == wire.TypeSession || env.Type == wire.TypeResumed) {
			continue // transport messages are not counted
		}
		w.received++
		return b, nil
	}
}

// reconnect resumes the session on a new connection, with backoff, for resumeFor.
func (w *resumingWS) reconnect(ctx context.Context) error {
	deadline := time.Now().Add(resumeFor)
	wait := resumeEvery
	query := neturl.Values{"resume": {w.token}, "last": {strconv.FormatUint(w.received, 10)}}
	for {
		dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := w.dial(dialCtx, query)
		if err == nil {
			err = w.expect(dialCtx, conn, wire.TypeResumed)
		}
		cancel()
		switch {
		case err == nil:
			w.resumed.Add(1)
			w.swap(conn)
			return nil
		case errors.Is(err, ErrCannotResume), time.Now().After(deadline), w.ctx.Err() != nil:
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, backoffMax)
	}
}

// Write writes msg on the current connection; when that fails, it waits for the
// reader to reconnect and writes on the new one, until ctx ends. A message written
// to a connection that was already dead without knowing it is lost: a client
// repeats what matters after a reconnection (an ICE restart).
func (w *resumingWS) Write(ctx context.Context, msg []byte) error {
	for {
		conn, changed := w.current()
		err := conn.Write(ctx, websocket.MessageText, msg)
		if err == nil || ctx.Err() != nil || w.ctx.Err() != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-w.ctx.Done():
			return err
		}
	}
}

// Close closes the connection with a close frame, so that the server ends the
// session at once instead of waiting for a reconnection. It waits for the server's
// close frame (read by Read) up to the library's 5 s.
func (w *resumingWS) Close() error {
	w.close()
	conn, _ := w.current()
	return conn.Close(websocket.StatusNormalClosure, "")
}

func (w *resumingWS) resumes() int64 { return w.resumed.Load() }
