package sse

import (
	"crypto/subtle"
	"errors"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/signal/resume"
)

// ErrStreamLost ends a session whose stream stayed away longer than the grace period.
var ErrStreamLost = errors.New("event stream lost")

// session is one signaling session and its stream state.
type session struct {
	id     string
	secret string
	sig    *signal.Session
	out    *resume.Outbox
	done   chan struct{} // closed when Run has returned
}

// newSession registers a session and starts its Run.
// access is what the opening request's token allows; logAttrs go on the session's
// log lines (signal.Session.LogWith).
func (h *Handler) newSession(access signal.Access, logAttrs ...any) *session {
	s := &session{id: "s_" + resume.Token(16), secret: resume.Token(32), out: resume.NewOutbox(), done: make(chan struct{})}
	s.sig = signal.NewSession(h.cfg, s.out)
	s.sig.SetTransport("sse")
	s.sig.LogWith(logAttrs...)
	s.sig.Restrict(access)
	h.mu.Lock()
	h.byID[s.id] = s
	h.mu.Unlock()
	h.wg.Add(1)
	go h.run(s)
	return s
}

func (h *Handler) run(s *session) {
	defer h.wg.Done()
	reason := h.runSession(s)
	s.out.End(reason)
	h.mu.Lock()
	delete(h.byID, s.id)
	h.mu.Unlock()
	close(s.done)
	h.log.Debug("sse session ended", "session", s.id, "reason", reason)
}

// runSession runs s's signaling session and returns why it ended. A panic in it
// ends the session alone, with signal.ErrInternal.
func (h *Handler) runSession(s *session) (reason error) {
	defer safe.Recover(h.log.With("transport", "sse", "session", s.id), "sse session",
		func(error) { reason = signal.ErrInternal })
	return s.sig.Run(h.ctx)
}

func (h *Handler) lookup(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byID[id]
}

// authorized reports whether secret is s's, in constant time.
func (s *session) authorized(secret string) bool {
	return subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret)) == 1
}

// streamLost starts the grace period of a session whose stream of generation gen
// dropped: unless a stream attaches before it passes, the session ends (the rule of
// resume.Pending, shared with the other resumable transports).
func (h *Handler) streamLost(s *session, gen uint64) {
	h.detached.Lost(s.out, gen, func() { s.sig.End(ErrStreamLost) })
}
