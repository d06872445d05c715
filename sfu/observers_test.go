package sfu

import (
	"errors"
	"testing"
	"time"
)

// failures is a ConnectionObserver that keeps why it was told to end.
type failures struct {
	recorder
	failed chan error
}

func (f *failures) Failed(err error) { f.failed <- err }

// roomEvents is a RoomObserver that keeps who it hears join.
type roomEvents struct{ joined chan ParticipantID }

func (r *roomEvents) Joined(ParticipantInfo, []ParticipantInfo) {}
func (r *roomEvents) ParticipantJoined(p ParticipantInfo)       { r.joined <- p.ID }
func (r *roomEvents) ParticipantLeft(ParticipantInfo)           {}
func (r *roomEvents) Chat(ChatMessage)                          {}
func (r *roomEvents) Removed(error)                             {}

// TestObserversByConcern: a participant with a connection observer only hears
// nothing of the room and is told of its removal through Failed, with the reason;
// one with a room observer hears the others join.
func TestObserversByConcern(t *testing.T) {
	e, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	rs := NewRooms(e)
	if _, err := rs.Join("r", "nobody", Observers{}); err == nil {
		t.Error("a join without a connection observer was taken")
	}
	events := &roomEvents{joined: make(chan ParticipantID, 4)}
	watcher, err := rs.Join("r", "watcher", Observers{Room: events, Connection: &recorder{offers: make(chan offer, 8)}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Leave()
	quiet := &failures{recorder: recorder{offers: make(chan offer, 8)}, failed: make(chan error, 1)}
	p, err := rs.Join("r", "whip", Observers{Connection: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Leave()
	select {
	case id := <-events.joined:
		if id != p.ID() {
			t.Errorf("the room observer heard %s join, want %s", id, p.ID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the room observer did not hear the second participant join")
	}
	if err := rs.Room("r").Remove(p.ID(), ErrRemoved); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-quiet.failed:
		if !errors.Is(err, ErrRemoved) {
			t.Errorf("removal reported as %v, want ErrRemoved", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a participant without a room observer was not told of its removal")
	}
}
