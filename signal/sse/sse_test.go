package sse

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-rtc/switchboard/signal"
)

// TestGracePeriod: a session whose stream dropped survives a reconnection within the
// grace period, and ends once a drop outlasts it.
func TestGracePeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &signal.Config{IdleTimeout: time.Hour, JoinTimeout: -1} // only the grace period ends it
		h := New(context.Background(), cfg, Options{GracePeriod: 15 * time.Second})
		defer h.Close()
		s := h.newSession(signal.Access{})
		gen, _, _ := s.out.Attach(0)
		h.streamLost(s, gen)

		time.Sleep(14 * time.Second)
		synctest.Wait()
		if h.lookup(s.id) == nil {
			t.Fatal("session ended 14 s into a 15 s grace period")
		}
		gen, _, err := s.out.Attach(0)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // past the first drop's grace period
		synctest.Wait()
		if h.lookup(s.id) == nil {
			t.Fatal("session ended although its stream came back in time")
		}

		h.streamLost(s, gen)
		time.Sleep(15*time.Second + time.Millisecond)
		synctest.Wait()
		if h.lookup(s.id) != nil {
			t.Fatal("session still there after its grace period")
		}
		if err := s.out.EndReason(); err != ErrStreamLost {
			t.Errorf("session ended for %v, want %v", err, ErrStreamLost)
		}
	})
}

// FuzzParseEventID: any Last-Event-ID is parsed without panicking, and what an event
// id of the server parses back to what it was made of.
func FuzzParseEventID(f *testing.F) {
	f.Add("s_abc:secret:12")
	f.Add("::")
	f.Add("a:b:c:d")
	f.Fuzz(func(t *testing.T, v string) {
		id, secret, seq, ok := parseEventID(v)
		if !ok {
			return
		}
		s := &session{id: id, secret: secret}
		if again := eventID(s, seq); again != v {
			if _, _, seq2, _ := parseEventID(again); seq2 != seq {
				t.Errorf("%q parsed to %q %q %d, which makes %q", v, id, secret, seq, again)
			}
		}
	})
}
