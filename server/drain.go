package server

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// drainPoll is how often Drain looks whether the last participant has left.
const drainPoll = 100 * time.Millisecond

// drainRetryAfter is the Retry-After of a session refused while the server drains:
// long enough for a load balancer to stop sending here (its readiness probe sees
// 503), short enough that a client retries soon, likely on another server.
const drainRetryAfter = 5 * time.Second

// drainState is a server's graceful shutdown: started once, never undone. It is the
// signal.Drainer of the server's sessions.
type drainState struct {
	once     sync.Once
	started  chan struct{}
	deadline time.Time // set before started is closed
}

func newDrainState() *drainState { return &drainState{started: make(chan struct{})} }

// start begins draining with deadline (zero: none); only the first call counts.
func (d *drainState) start(deadline time.Time) {
	d.once.Do(func() {
		d.deadline = deadline
		close(d.started)
	})
}

// Draining is closed once the server drains.
func (d *drainState) Draining() <-chan struct{} { return d.started }

// Deadline is the deadline of the drain; read it after Draining is closed.
func (d *drainState) Deadline() time.Time { return d.deadline }

// active reports whether the server drains.
func (d *drainState) active() bool {
	select {
	case <-d.started:
		return true
	default:
		return false
	}
}

// Drain shuts the server down gracefully, for the calls in progress to end on their
// own: the server reports not ready (GET /readyz answers 503), refuses new sessions
// (503, code draining, with Retry-After) and joins (error draining), and tells every
// connected client with a draining message carrying ctx's deadline, if any. Calls
// in progress go on. Drain returns nil when the last participant (SFU, mesh, WHIP
// publisher or WHEP viewer) has left, or ctx's error when ctx ends first; it does
// not end anything: call Shutdown or Close after it. Draining cannot be undone; a
// second call waits the same way.
func (s *Server) Drain(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	s.drain.start(deadline) // the first call's deadline stands
	log := s.log.With("participants", s.participants())
	if !deadline.IsZero() {
		log = log.With("deadline", deadline.UTC().Format(time.RFC3339))
	}
	log.Info("draining: refusing new sessions, waiting for calls to end")
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for s.participants() > 0 {
		select {
		case <-ctx.Done():
			s.log.Info("drain cut short", "participants", s.participants(), "reason", context.Cause(ctx))
			return ctx.Err()
		case <-t.C:
		}
	}
	s.log.Info("drained: no participant left")
	return nil
}

// participants counts who is in the server's rooms: SFU participants (WHIP
// publishers among them), WHEP viewers, mesh peers and the participants of auto
// rooms.
func (s *Server) participants() int {
	n := s.auto.rooms.Seats()
	for _, room := range s.rooms.List() {
		n += len(room.Participants()) + len(room.Viewers())
	}
	for _, room := range s.mesh.List() {
		n += len(room.Peers())
	}
	return n
}

// refuseDraining refuses a request that would open a session while the server
// drains; an SSE stream that resumes its session (Last-Event-ID) goes on.
func (s *Server) refuseDraining(rt route, r *http.Request) error {
	if !s.drain.active() || (rt.resumes && r.Header.Get("Last-Event-ID") != "") {
		return nil
	}
	return &Refusal{Status: http.StatusServiceUnavailable, Code: "draining",
		Reason: "the server is shutting down: try again later, or another server", RetryAfter: drainRetryAfter}
}

// readyz answers 200 "ready" while the server takes new sessions, 503 "draining"
// once it drains: a load balancer's readiness probe sends no one new here, while
// /healthz stays 200 for the calls still running.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.drain.active() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("draining\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// DefaultDrainTimeout is how long the binary's graceful shutdown waits for calls to
// end (--drain-timeout) before it ends them.
const DefaultDrainTimeout = 10 * time.Minute
