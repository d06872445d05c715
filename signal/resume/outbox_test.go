package resume

import (
	"fmt"
	"testing"
)

// TestReplay: a resumed stream gets exactly the events after the id it names, in
// order; ids it cannot serve are refused.
func TestReplay(t *testing.T) {
	o := NewOutbox()
	gen, _, _ := o.Attach(0)
	for i := 1; i <= 10; i++ {
		o.Send(fmt.Appendf(nil, "m%d", i))
	}
	if evs, from, _, _ := o.Take(gen); len(evs) != 10 || from != 1 {
		t.Fatalf("took %d events from %d, want 10 from 1", len(evs), from)
	}
	o.Detach(gen)
	o.Send([]byte("m11"))
	gen, _, err := o.Attach(7) // the client got up to 7; 8-10 were lost in flight
	if err != nil {
		t.Fatal(err)
	}
	evs, from, _, _ := o.Take(gen)
	if got := fmt.Sprintf("%d %q", from, evs); got != `8 ["m8" "m9" "m10" "m11"]` {
		t.Errorf("replayed %s, want 8 [m8 m9 m10 m11]", got)
	}
	if _, _, _, err := o.Take(gen - 1); err != ErrTakeover {
		t.Errorf("stale stream: %v, want %v", err, ErrTakeover)
	}
	if _, _, err := o.Attach(12); err != ErrFuture {
		t.Errorf("attach after an id never sent: %v, want %v", err, ErrFuture)
	}
}

// TestOutboxBounds: unwritten events are bounded (a slow consumer ends the session)
// and old ones are forgotten past the replay buffer.
func TestOutboxBounds(t *testing.T) {
	o := NewOutbox()
	gen, _, _ := o.Attach(0)
	for i := range queueSize {
		if !o.Send([]byte("x")) {
			t.Fatalf("send %d refused, below the queue size", i)
		}
	}
	if o.Send([]byte("x")) {
		t.Fatal("send beyond the queue size accepted")
	}
	for range 3 {
		o.Take(gen)
		for range queueSize {
			o.Send([]byte("x"))
		}
	}
	if len(o.events) > replaySize {
		t.Errorf("%d events kept, want at most %d", len(o.events), replaySize)
	}
	if _, _, err := o.Attach(1); err != ErrTooOld {
		t.Errorf("resume from a forgotten id: %v, want %v", err, ErrTooOld)
	}
}
