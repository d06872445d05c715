package sse

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-rtc/switchboard/signal"
)

// TestMaxDetached: beyond MaxDetached sessions waiting for their stream, a stream
// that drops ends its session at once; those within it wait for the grace period.
func TestMaxDetached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &signal.Config{IdleTimeout: time.Hour, JoinTimeout: -1}
		h := New(context.Background(), cfg, Options{GracePeriod: 15 * time.Second, MaxDetached: 2})
		defer h.Close()
		var sessions []*session
		for range 3 {
			s := h.newSession(signal.Access{})
			gen, _, _ := s.out.Attach(0)
			h.streamLost(s, gen)
			sessions = append(sessions, s)
		}
		synctest.Wait()
		for i, s := range sessions {
			gone := h.lookup(s.id) == nil
			if want := i == 2; gone != want {
				t.Errorf("session %d ended at once: %v, want %v", i, gone, want)
			}
		}
		if err := sessions[2].out.EndReason(); err != ErrStreamLost {
			t.Errorf("the session beyond the cap ended for %v, want %v", err, ErrStreamLost)
		}
	})
}
