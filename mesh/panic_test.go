package mesh

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/safe"
)

// faultyRecorder is a member whose observer panics on chat and relays, and that can
// be told to end (Failed).
type faultyRecorder struct {
	*recorder
	failed chan error
}

func (f *faultyRecorder) Chat(ChatMessage)     { panic("injected fault: chat") }
func (f *faultyRecorder) Relay(PeerID, []byte) { panic("injected fault: relay") }
func (f *faultyRecorder) Failed(err error)     { f.failed <- err }

// TestPanicInOneMemberSparesTheOthers: a member whose observer panics on a chat or a
// relay is told to end (Failed); the sender is not hurt, and the others get the chat.
func TestPanicInOneMemberSparesTheOthers(t *testing.T) {
	rs := NewRooms(Config{Logger: quiet()})
	defer rs.Close()
	a, c := newRecorder(), newRecorder()
	doomed := &faultyRecorder{recorder: newRecorder(), failed: make(chan error, 2)}
	ma, err := rs.Join("m", "a", a)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := rs.Join("m", "b", doomed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Join("m", "c", c); err != nil {
		t.Fatal(err)
	}
	before := safe.Count()
	if err := ma.Chat("hello"); err != nil {
		t.Fatal(err)
	}
	if err := ma.Relay(mb.ID(), []byte(`{"sdp":"x"}`)); err != nil {
		t.Fatalf("relay to a member whose code panicked: %v", err)
	}
	for _, r := range []*recorder{a, c} {
		if !slices.Contains(r.got(), "chat "+string(ma.ID())+" hello") {
			t.Errorf("a member got %v, want the chat", r.got())
		}
	}
	for range 2 {
		select {
		case <-doomed.failed:
		case <-time.After(10 * time.Second):
			t.Fatal("the member whose observer panicked was not told to end")
		}
	}
	if n := safe.Count() - before; n != 2 {
		t.Errorf("%d panics counted, want 2", n)
	}
}
