// Package wsconn owns the life of one server-side WebSocket connection, for every
// transport that carries a protocol over WebSocket (signal/ws, compat/sfuws): the
// upgrade with its origin check and read limit, a bounded outbox drained by one writer
// goroutine with a deadline per frame, a reader that hands each frame to the protocol's
// session, the keepalive pings, panic recovery in each of these goroutines, and the
// close with a status mapped from why the session ended.
//
// A transport keeps only what is specific to its protocol: it implements Session,
// maps its reasons to close statuses (Config.CloseStatus), and calls Accept then Serve
// from its http.Handler.
package wsconn

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/internal/keepalive"
	"github.com/switchboard-rtc/switchboard/internal/safe"
)

const (
	// DefaultQueueSize bounds the messages waiting for the client. A joining client
	// may get a burst of events and candidates; a client that lets 256 pile up is not
	// reading.
	DefaultQueueSize = 256
	// DefaultWriteTimeout bounds one write: a client that takes longer is gone or
	// stuck.
	DefaultWriteTimeout = 10 * time.Second
	// maxCloseText is the longest close reason sent: a close frame's payload is at
	// most 125 bytes, two of them the status code, and the library refuses more.
	maxCloseText = 120
)

// Session is the protocol's side of a connection, run by Serve. Its methods are called
// from the connection's goroutines: Deliver from the reader, End from any.
type Session interface {
	// Deliver handles one frame from the client (text or binary, as read). It returns
	// false once the session has ended: the reader then stops.
	Deliver(frame []byte) bool
	// End asks the session to end for err and never blocks; the first reason wins.
	// Serve calls it when a read, a write or a ping fails, and when one of the
	// connection's goroutines panics (err is then a *safe.Error).
	End(err error)
	// Run runs the session until it ends and returns why.
	Run(ctx context.Context) error
}

// Config describes the connections of one transport. Its zero values are the
// defaults, but for CloseStatus, which is required.
type Config struct {
	// Name names the transport ("websocket", "sfu-ws") in logs and in what a
	// recovered panic says of where it happened ("websocket writer").
	Name string
	// OriginPatterns are the hosts, other than the request's own, whose pages may
	// connect (see websocket.AcceptOptions). Empty means same-origin only.
	OriginPatterns []string
	// ReadLimit bounds one message from the client, in bytes: a frame over it makes
	// the read fail, and the connection is closed with status 1009 (message too big).
	// Zero leaves the library's default, 32 KiB.
	ReadLimit int64
	// QueueSize bounds the messages Send queues; zero means DefaultQueueSize.
	QueueSize int
	// WriteTimeout bounds the write of one message; zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// PingInterval is how often the client is pinged, and PongTimeout how long a ping
	// waits for its pong before the client is taken for gone and the session ends with
	// keepalive.ErrPongTimeout. Zero means the defaults of package keepalive.
	PingInterval, PongTimeout time.Duration
	// Logger receives the connection's logs; nil means slog.Default().
	Logger *slog.Logger
	// CloseStatus maps why a session ended to the close status and text the client
	// gets. The reasons the connection itself gives are mapped before it is asked (see
	// Conn.Close). Texts over 120 bytes are cut. Required.
	CloseStatus func(reason error) (websocket.StatusCode, string)
	// WriteHook, when set, runs on the writer goroutine before each write. It is for
	// tests that inject a fault into the writer; leave it nil.
	WriteHook func(msg []byte)
}

// Conn is one accepted connection. Send may be called from any goroutine from Accept
// on; Serve or Close, once, ends it.
type Conn struct {
	ws    *websocket.Conn
	cfg   Config
	log   *slog.Logger
	queue chan []byte
}

// Accept upgrades the request to a WebSocket connection. When the upgrade is refused
// (a foreign origin, not a WebSocket request) Accept has answered the request and
// returns the error.
func Accept(w http.ResponseWriter, r *http.Request, cfg Config) (*Conn, error) {
	log := cmp.Or(cfg.Logger, slog.Default()).With("transport", cfg.Name, "remote", r.RemoteAddr)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: cfg.OriginPatterns})
	if err != nil {
		log.Debug(cfg.Name+" upgrade refused", "err", err)
		return nil, err
	}
	if cfg.ReadLimit > 0 {
		ws.SetReadLimit(cfg.ReadLimit)
	}
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	return &Conn{ws: ws, cfg: cfg, log: log, queue: make(chan []byte, cmp.Or(cfg.QueueSize, DefaultQueueSize))}, nil
}

// Log is the connection's logger, naming its transport and the client's address.
func (c *Conn) Log() *slog.Logger { return c.log }

// Send queues msg for the client and never blocks. It returns false when the queue is
// full: the client is not reading, and the caller ends its session. What is queued
// when the session ends is still written before the close.
func (c *Conn) Send(msg []byte) bool {
	select {
	case c.queue <- msg:
		return true
	default:
		return false
	}
}

// Serve runs s on the connection and returns why it ended. It starts the writer, the
// reader and the pinger, runs s until it ends, then writes what is queued, closes the
// connection with the status mapped from the reason, and returns once its goroutines
// have. When ctx ends (the server's lifetime) the session ends with ctx's error.
func (c *Conn) Serve(ctx context.Context, s Session) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	writerDone := c.spawn("writer", s, func() error { return c.writeLoop(ctx, stop) })
	readerDone := c.spawn("reader", s, func() error { return c.readLoop(ctx, s) })
	pingerDone := c.spawn("pinger", s, func() error {
		return keepalive.Ping(ctx, c.ws, c.cfg.PingInterval, c.cfg.PongTimeout)
	})
	reason := s.Run(ctx)
	close(stop)
	<-writerDone
	// Close before cancelling ctx: a Read or Ping whose context ends closes the
	// connection at once, and the client would get no close status.
	c.Close(reason)
	cancel()
	<-pingerDone
	<-readerDone
	return reason
}

// Close closes the connection with the status mapped from reason, waiting up to the
// library's 5 s for the client's close frame. The reasons the connection gives are
// mapped here, the same for every transport: a panic in code serving it (a
// *safe.Error) 1011 "internal error", keepalive.ErrPongTimeout 1008 "no pong", the end
// of Serve's context (context.Canceled: the server shuts down) 1001 "server shutting
// down"; any other reason as Config.CloseStatus says. Serve calls Close; call it
// yourself only for a connection you do not serve (a join refused after the upgrade).
func (c *Conn) Close(reason error) {
	code, text := c.closeStatus(reason)
	_ = c.ws.Close(code, text)
	c.log.Debug(c.cfg.Name+" closed", "reason", reason)
}

// closeStatus maps reason as Close says.
func (c *Conn) closeStatus(reason error) (websocket.StatusCode, string) {
	if _, ok := errors.AsType[*safe.Error](reason); ok {
		return websocket.StatusInternalError, "internal error" // details are logged, not sent
	}
	switch {
	case errors.Is(reason, keepalive.ErrPongTimeout):
		return websocket.StatusPolicyViolation, "no pong"
	case errors.Is(reason, context.Canceled):
		return websocket.StatusGoingAway, "server shutting down"
	}
	code, text := c.cfg.CloseStatus(reason)
	return code, cutText(text)
}

// cutText shortens text to fit a close frame, at a character boundary: a close
// reason must be valid UTF-8.
func cutText(text string) string {
	if len(text) <= maxCloseText {
		return text
	}
	i := maxCloseText
	for i > maxCloseText-utf8.UTFMax && !utf8.RuneStart(text[i]) {
		i--
	}
	return text[:i]
}

// spawn runs fn on a goroutine of its own and returns a channel closed when it has
// returned. An error from fn, or a panic in it, ends s.
func (c *Conn) spawn(what string, s Session, fn func() error) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer safe.Recover(c.log, c.cfg.Name+" "+what, s.End)
		if err := fn(); err != nil {
			s.End(err)
		}
	}()
	return done
}

// readLoop hands each frame to s until a read fails or s has ended.
func (c *Conn) readLoop(ctx context.Context, s Session) error {
	for {
		_, frame, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		if !s.Deliver(frame) {
			return nil
		}
	}
}

// writeLoop is the connection's single writer: it writes queued messages until a write
// fails or ctx ends. Once stop is closed it writes what is already queued (a last
// error, say) and returns.
func (c *Conn) writeLoop(ctx context.Context, stop <-chan struct{}) error {
	for {
		select {
		case msg := <-c.queue:
			if err := c.write(ctx, msg); err != nil {
				return err
			}
		case <-stop:
			return c.drain(ctx)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// drain writes what is queued, without waiting for more.
func (c *Conn) drain(ctx context.Context) error {
	for {
		select {
		case msg := <-c.queue:
			if err := c.write(ctx, msg); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// write writes one message within the write timeout. A write that times out closes
// the connection (the library cannot leave a frame half written).
func (c *Conn) write(ctx context.Context, msg []byte) error {
	if c.cfg.WriteHook != nil {
		c.cfg.WriteHook(msg)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, msg)
}
