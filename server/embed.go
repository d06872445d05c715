package server

import (
	"context"
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
// session ends, with why; Close ends it and waits for it. The session is not admitted:
// see Admit and RunSessionFor for one that is.
func (s *Server) RunSession(out signal.Outbox, started func(*signal.Session)) error {
	return s.RunSessionFor(context.Background(), out, started)
}

// Admission is a request admitted by Admit: what its client may do, and its slot of
// the client address's session limit.
type Admission struct {
	access signal.Access
	hold   func()
}

// Admit runs the admission of the native signaling endpoint (GET /ws) on r, a request
// that opens a session on a transport of the caller's: the per-address limits, the
// Origin, the Authorize hook, the room name and, with API keys, the join token, the
// same steps as for every other entry point (docs/security.md). On refusal it
// returns an error for WriteRefusal (or a *Refusal to answer in the caller's
// framework). On success the caller runs the session with RunSessionFor, which
// releases the admission's slot when the session ends; an admission not run must
// be released with Release.
func (s *Server) Admit(r *http.Request) (*Admission, error) {
	rt := route{pattern: "GET /ws", entry: joinRoom, room: queryRoom, origin: true, creates: true}
	if err := s.refuseDraining(rt, r); err != nil {
		return nil, err
	}
	release, err := s.acquire(r)
	if err != nil {
		s.metrics.refused(err)
		return nil, err
	}
	ctx, err := s.check(rt, r)
	if err != nil {
		release()
		s.metrics.refused(err)
		return nil, err
	}
	return &Admission{access: signal.AccessFrom(ctx), hold: release}, nil
}

// Release frees the admission's slot; RunSessionFor does it when its session ends.
func (a *Admission) Release() {
	if a != nil && a.hold != nil {
		a.hold()
	}
}

type admissionKey struct{}

// WithAdmission returns ctx carrying a, for RunSessionFor.
func WithAdmission(ctx context.Context, a *Admission) context.Context {
	return context.WithValue(ctx, admissionKey{}, a)
}

// RunSessionFor is RunSession for a session whose request Admit admitted
// (WithAdmission in ctx): the session is limited to what the request's token
// allows, and the admission's slot is released when it ends. Without an admission
// in ctx it runs an unrestricted session, as RunSession does.
func (s *Server) RunSessionFor(ctx context.Context, out signal.Outbox, started func(*signal.Session)) error {
	a, _ := ctx.Value(admissionKey{}).(*Admission)
	defer a.Release()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	s.sessions.Add(1)
	s.mu.Unlock()
	defer s.sessions.Done()
	sess := signal.NewSession(s.sig, out)
	if a != nil {
		sess.Restrict(a.access)
	}
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

// compatHandler serves clients of Pion's sfu-ws example, in cfg.Rooms when set, else
// in the server's own rooms.
func (s *Server) compatHandler(cfg Config) http.Handler {
	var rooms sfuws.Rooms = s.auto.media(s.rooms)
	if cfg.Rooms != nil {
		rooms = cfg.Rooms
	}
	h := &sfuws.Handler{Rooms: rooms, OriginPatterns: cfg.AllowedOrigins, Context: s.ctx, Logger: s.log,
		MessagesPerSecond: cfg.Limits.MessagesPerSecond, MessageBurst: cfg.Limits.MessageBurst,
		PingInterval: cfg.Liveness.PingInterval, PongTimeout: cfg.Liveness.PongTimeout}
	h.Admit = s.admitCompat
	return h
}
