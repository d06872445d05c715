// Package ws carries the native signaling protocol over WebSocket: one JSON message
// per text frame. Mount Handler at the path clients connect to (the server uses /ws).
package ws

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/internal/keepalive"
	"github.com/switchboard-rtc/switchboard/internal/reqid"
	"github.com/switchboard-rtc/switchboard/internal/wsconn"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/signal/resume"
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
	// Pending, when set, lets sessions resume after their connection drops (see
	// resume.go), under the rule of waiting sessions the server's resumable
	// transports share. Nil: a connection that asks for a resumable session gets an
	// ordinary one, which ends with its connection.
	Pending *resume.Pending

	resumables registry
}

// ServeHTTP upgrades the request and runs one session on the connection until the
// client leaves, the connection fails, or Context ends; the close status says why.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := wsconn.Accept(w, r, wsconn.Config{
		Name:           "websocket",
		OriginPatterns: h.OriginPatterns,
		ReadLimit:      int64(h.Config.Limits.MessageSize()),
		PingInterval:   h.PingInterval,
		PongTimeout:    h.PongTimeout,
		Logger:         cmp.Or(h.Logger, slog.Default()).With(reqid.Attrs(r.Context())...),
		CloseStatus:    closeStatus,
		WriteHook:      writeHook,
	})
	if err != nil {
		return // Accept has written the HTTP error
	}
	if token, last, resumable := resumeRequest(r); resumable && h.Pending != nil {
		if token != "" {
			h.serveResume(c, token, last)
		} else {
			h.serveNew(c, r)
		}
		return
	}
	_ = c.Serve(h.context(), h.newSession(c, r))
}

// newSession is the signaling session of the connection r opened, answering through
// out.
func (h *Handler) newSession(out signal.Outbox, r *http.Request) *signal.Session {
	s := signal.NewSession(h.Config, out)
	s.SetTransport("websocket")
	s.LogWith(reqid.Attrs(r.Context())...)
	s.Restrict(signal.AccessFrom(r.Context())) // what the request's token allows, if any
	return s
}

func (h *Handler) context() context.Context { return cmp.Or(h.Context, context.Background()) }

func (h *Handler) logger() *slog.Logger { return cmp.Or(h.Logger, slog.Default()) }

var _ wsconn.Session = (*signal.Session)(nil)

// writeHook, when set by a test, runs before each write: a fault injected into the
// writer.
var writeHook func(msg []byte)

// closeStatus maps why a session ended to the WebSocket close status; wsconn maps
// its own reasons (a panic, no pong, the server shutting down) itself.
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
	case errors.Is(reason, signal.ErrFlood):
		return websocket.StatusPolicyViolation, "flood"
	case errors.Is(reason, signal.ErrInternal):
		return websocket.StatusInternalError, "internal error"
	case errors.Is(reason, signal.ErrConnectionFailed):
		return websocket.StatusInternalError, "media connection failed"
	case errors.Is(reason, errTakenOver):
		return websocket.StatusPolicyViolation, "resumed on another connection"
	case errors.Is(reason, errCannotResume):
		return websocket.StatusPolicyViolation, "cannot resume"
	}
	return websocket.StatusNormalClosure, ""
}
