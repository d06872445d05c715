// Package ws carries the native signaling protocol over WebSocket: one JSON message
// per text frame. Mount Handler at the path clients connect to (the server uses /ws).
package ws

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/internal/keepalive"
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/signal"
)

const (
	// queueSize bounds the messages waiting for the client. A joining client may get a
	// burst of events and candidates; a client that lets 256 pile up is not reading.
	queueSize = 256
	// writeTimeout bounds one write: a client that takes longer is gone or stuck.
	writeTimeout = 10 * time.Second
)

// ErrPongTimeout ends a session whose client did not answer a ping in time.
var ErrPongTimeout = keepalive.ErrPongTimeout

// Handler accepts WebSocket connections and runs one signaling session on each.
type Handler struct {
	// Config is shared by every session. Required.
	Config *signal.Config
	// OriginPatterns are the hosts, other than the request's own, whose pages may
	// connect (see websocket.AcceptOptions). Empty means same-origin only.
	OriginPatterns []string
	// Context ends every session when done: the server's lifetime. Nil means none.
	Context context.Context
	// PingInterval is how often the server pings the client, and PongTimeout how
	// long a ping waits for its pong before the client is taken for gone (its network
	// vanished without a FIN reaching the server) and its session ends. Zero means 5 s
	// each: a vanished client leaves within 10 s.
	PingInterval, PongTimeout time.Duration
	// Logger receives transport logs; nil means slog.Default().
	Logger *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.OriginPatterns})
	if err != nil {
		log.Debug("websocket upgrade refused", "err", err, "remote", r.RemoteAddr)
		return // Accept has written the HTTP error
	}
	// Frames over the limit make Read fail, and the library closes the connection
	// with status 1009 (message too big).
	c.SetReadLimit(int64(h.Config.Limits.MessageSize()))

	base := h.Context
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	defer cancel()

	out := &outbox{queue: make(chan []byte, queueSize)}
	s := signal.NewSession(h.Config, out)
	s.SetTransport("websocket")
	s.Restrict(signal.AccessFrom(r.Context())) // what the request's token allows, if any
	// A panic in one of the connection's goroutines ends its session, not the process.
	log = log.With("transport", "websocket", "remote", r.RemoteAddr)
	ended := func(error) { s.End(signal.ErrInternal) }
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer safe.Recover(log, "websocket writer", ended)
		if err := out.writeLoop(ctx, c, stop); err != nil {
			s.End(err)
		}
	}()
	go func() {
		defer safe.Recover(log, "websocket reader", ended)
		readLoop(ctx, c, s)
	}()
	pingerDone := make(chan struct{})
	go func() {
		defer close(pingerDone)
		defer safe.Recover(log, "websocket pinger", ended)
		if err := keepalive.Ping(ctx, c, h.PingInterval, h.PongTimeout); err != nil {
			s.End(err)
		}
	}()
	reason := s.Run(ctx)
	close(stop)
	<-writerDone
	// Close before cancelling ctx: a Read or Ping whose context ends closes the
	// connection at once, and the client would get no close status.
	code, text := closeStatus(reason)
	_ = c.Close(code, text)
	cancel()
	<-pingerDone
	log.Debug("websocket closed", "remote", r.RemoteAddr, "reason", reason)
}

// readLoop hands each text frame to the session until the connection fails or the
// session ends. A binary frame is handed over too: it fails to decode as JSON and the
// client gets a bad-json error.
func readLoop(ctx context.Context, c *websocket.Conn, s *signal.Session) {
	for {
		_, frame, err := c.Read(ctx)
		if err != nil {
			s.End(err)
			return
		}
		if !s.Deliver(frame) {
			return
		}
	}
}

// closeStatus maps why a session ended to the WebSocket close status.
func closeStatus(reason error) (websocket.StatusCode, string) {
	switch {
	case errors.Is(reason, signal.ErrLeft):
		return websocket.StatusNormalClosure, "left"
	case errors.Is(reason, signal.ErrIdle):
		return websocket.StatusPolicyViolation, "timeout"
	case errors.Is(reason, signal.ErrJoinTimeout):
		return websocket.StatusPolicyViolation, "join timeout"
	case errors.Is(reason, signal.ErrSlowConsumer):
		return websocket.StatusPolicyViolation, "slow consumer"
	case errors.Is(reason, signal.ErrRemoved):
		return websocket.StatusPolicyViolation, "removed from the room"
	case errors.Is(reason, signal.ErrRateLimited):
		return websocket.StatusPolicyViolation, "rate limited"
	case errors.Is(reason, ErrPongTimeout):
		return websocket.StatusPolicyViolation, "no pong"
	case errors.Is(reason, signal.ErrFlood):
		return websocket.StatusPolicyViolation, "flood"
	case errors.Is(reason, signal.ErrInternal):
		return websocket.StatusInternalError, "internal error"
	case errors.Is(reason, signal.ErrConnectionFailed):
		return websocket.StatusInternalError, "media connection failed"
	case errors.Is(reason, context.Canceled):
		return websocket.StatusGoingAway, "server shutting down"
	}
	return websocket.StatusNormalClosure, ""
}

// outbox is the connection's single writer: a bounded queue drained by writeLoop.
type outbox struct {
	queue chan []byte
}

// Send queues msg; it never blocks.
func (o *outbox) Send(msg []byte) bool {
	select {
	case o.queue <- msg:
		return true
	default:
		return false
	}
}

// writeLoop writes queued messages until a write fails or ctx ends. Once stop is
// closed it writes what is already queued (a last error, say) and returns.
func (o *outbox) writeLoop(ctx context.Context, c *websocket.Conn, stop <-chan struct{}) error {
	for {
		select {
		case msg := <-o.queue:
			if err := o.write(ctx, c, msg); err != nil {
				return err
			}
		case <-stop:
			for {
				select {
				case msg := <-o.queue:
					if err := o.write(ctx, c, msg); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// writeHook, when set by a test, runs before each write: a fault injected into the
// writer.
var writeHook func(msg []byte)

func (o *outbox) write(ctx context.Context, c *websocket.Conn, msg []byte) error {
	if writeHook != nil {
		writeHook(msg)
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, msg)
}
