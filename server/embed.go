package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard-rtc/switchboard/compat/sfuws"
	"github.com/switchboard-rtc/switchboard/signal"
)

// RunSession runs one native signaling session over a transport of the caller's (a
// WebSocket of another web framework, say): messages for the client go out through
// out; started is called with the session before it runs, and the caller's reader
// then hands each message from the client to its Deliver. RunSession returns when the
// session ends, with why; Close ends it and waits for it.
func (s *Server) RunSession(out signal.Outbox, started func(*signal.Session)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	s.sessions.Add(1)
	s.mu.Unlock()
	defer s.sessions.Done()
	sess := signal.NewSession(s.sig, out)
	started(sess)
	return sess.Run(s.ctx)
}

// withPrefix serves h below prefix ("/rtc" or "/rtc/"); requests outside it get 404.
// The prefix without its trailing slash redirects to it, so that the browser client's
// relative URLs resolve below the prefix.
func withPrefix(prefix string, h http.Handler) http.Handler {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return h
	}
	stripped := http.StripPrefix(prefix, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == prefix {
			http.Redirect(w, r, prefix+"/", http.StatusMovedPermanently)
			return
		}
		stripped.ServeHTTP(w, r)
	})
}

// errClosed is returned by RunSession once Close has been called.
var errClosed = errors.New("server: closed")

// compatHandler serves clients of Pion's sfu-ws example, in cfg.Rooms when that
// directory can make single-connection participants, else in the server's own rooms.
func (s *Server) compatHandler(cfg Config) http.Handler {
	var rooms sfuws.Rooms = s.rooms
	if r, ok := cfg.Rooms.(sfuws.Rooms); ok {
		rooms = r
	}
	h := &sfuws.Handler{Rooms: rooms, OriginPatterns: cfg.AllowedOrigins, Context: s.ctx, Logger: s.log,
		MessagesPerSecond: cfg.Limits.MessagesPerSecond, MessageBurst: cfg.Limits.MessageBurst,
		PingInterval: cfg.Liveness.PingInterval, PongTimeout: cfg.Liveness.PongTimeout}
	h.Admit = s.admitCompat
	return h
}
