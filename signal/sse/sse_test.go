package sse

import (
	"context"
	"fmt"
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
		gen, _, _ := s.out.attach(0)
		h.streamLost(s, gen)

		time.Sleep(14 * time.Second)
		synctest.Wait()
		if h.lookup(s.id) == nil {
			t.Fatal("session ended 14 s into a 15 s grace period")
		}
		gen, _, err := s.out.attach(0)
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
		if err := s.out.endReason(); err != ErrStreamLost {
			t.Errorf("session ended for %v, want %v", err, ErrStreamLost)
		}
	})
}

// TestReplay: a resumed stream gets exactly the events after the id it names, in
// order; ids it cannot serve are refused.
func TestReplay(t *testing.T) {
	o := newOutbox()
	gen, _, _ := o.attach(0)
	for i := 1; i <= 10; i++ {
		o.Send(fmt.Appendf(nil, "m%d", i))
	}
	if evs, from, _, _ := o.take(gen); len(evs) != 10 || from != 1 {
		t.Fatalf("took %d events from %d, want 10 from 1", len(evs), from)
	}
	o.detach(gen)
	o.Send([]byte("m11"))
	gen, _, err := o.attach(7) // the client got up to 7; 8-10 were lost in flight
	if err != nil {
		t.Fatal(err)
	}
	evs, from, _, _ := o.take(gen)
	if got := fmt.Sprintf("%d %q", from, evs); got != `8 ["m8" "m9" "m10" "m11"]` {
		t.Errorf("replayed %s, want 8 [m8 m9 m10 m11]", got)
	}
	if _, _, _, err := o.take(gen - 1); err != errTakeover {
		t.Errorf("stale stream: %v, want %v", err, errTakeover)
	}
	if _, _, err := o.attach(12); err != errFuture {
		t.Errorf("attach after an id never sent: %v, want %v", err, errFuture)
	}
}

// TestOutboxBounds: unwritten events are bounded (a slow consumer ends the session)
// and old ones are forgotten past the replay buffer.
func TestOutboxBounds(t *testing.T) {
	o := newOutbox()
	gen, _, _ := o.attach(0)
	for i := range queueSize {
		if !o.Send([]byte("x")) {
			t.Fatalf("send %d refused, below the queue size", i)
		}
	}
	if o.Send([]byte("x")) {
		t.Fatal("send beyond the queue size accepted")
	}
	for range 3 {
		o.take(gen)
		for range queueSize {
			o.Send([]byte("x"))
		}
	}
	if len(o.events) > replaySize {
		t.Errorf("%d events kept, want at most %d", len(o.events), replaySize)
	}
	if _, _, err := o.attach(1); err != errTooOld {
		t.Errorf("resume from a forgotten id: %v, want %v", err, errTooOld)
	}
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
