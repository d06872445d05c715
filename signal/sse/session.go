package sse

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/signal"
)

// ErrStreamLost ends a session whose stream stayed away longer than the grace period.
var ErrStreamLost = errors.New("event stream lost")

// session is one signaling session and its stream state.
type session struct {
	id     string
	secret string
	sig    *signal.Session
	out    *outbox
	done   chan struct{} // closed when Run has returned
}

// newSession registers a session and starts its Run.
// access is what the opening request's token allows; logAttrs go on the session's
// log lines (signal.Session.LogWith).
func (h *Handler) newSession(access signal.Access, logAttrs ...any) *session {
	s := &session{id: "s_" + randomToken(16), secret: randomToken(32), out: newOutbox(), done: make(chan struct{})}
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
	s.out.end(reason)
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
// dropped: unless a stream attaches before it passes, the session ends.
func (h *Handler) streamLost(s *session, gen uint64) {
	if !s.out.detach(gen) {
		return
	}
	if h.detached.Add(1) > int64(h.opts.MaxDetached) {
		h.detached.Add(-1)
		s.sig.End(ErrStreamLost)
		return
	}
	time.AfterFunc(h.opts.GracePeriod, func() {
		h.detached.Add(-1)
		if s.out.detachedSince(gen) {
			s.sig.End(ErrStreamLost)
		}
	})
}

// randomToken is n random bytes in URL-safe base64: unguessable, so that knowing a
// session id grants nothing and a secret cannot be found by trying.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
