package sfu

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestViewerPlacesAndRemoval: a viewer takes a place of its room and one of the
// server's viewers; RemoveViewer and Close of the room stop it and call its owner's
// ended, and closing it gives both places back.
func TestViewerPlacesAndRemoval(t *testing.T) {
	e, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger(), Limits: Limits{MaxParticipants: 2, MaxViewers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	rs := NewRooms(e)
	for _, room := range []RoomID{"a", "b"} {
		p, err := rs.Join(room, "pub", Observers{Connection: &recorder{offers: make(chan offer, 8)}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Leave()
	}
	if _, err := rs.Watch("nowhere", "", nil); !errors.Is(err, ErrNoRoom) {
		t.Errorf("viewer of no room: %v, want ErrNoRoom", err)
	}
	var ended atomic.Int32
	v, err := rs.Watch("a", "", func() { ended.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Join("a", "late", Observers{Connection: &recorder{}}); !errors.Is(err, ErrRoomFull) {
		t.Errorf("join beside a participant and a viewer: %v, want ErrRoomFull", err)
	}
	if _, err := rs.Watch("b", "", nil); !errors.Is(err, ErrTooManyViewers) {
		t.Errorf("second viewer of the server: %v, want ErrTooManyViewers", err)
	}
	room := rs.Room("a")
	if vs := room.Viewers(); len(vs) != 1 || vs[0].ID != v.ID() || vs[0].Since.IsZero() {
		t.Errorf("viewers of a: %+v, want the one", vs)
	}
	if err := room.RemoveViewer("v_nobody"); !errors.Is(err, ErrNoViewer) {
		t.Errorf("removing an unknown viewer: %v, want ErrNoViewer", err)
	}
	if err := room.RemoveViewer(v.ID()); err != nil || ended.Load() != 1 || len(room.Viewers()) != 0 {
		t.Errorf("RemoveViewer: %v, ended called %d times, %d viewers left", err, ended.Load(), len(room.Viewers()))
	}
	v.Close()
	v, err = rs.Watch("b", "", func() { ended.Add(1) })
	if err != nil {
		t.Fatalf("viewer after the first closed: %v", err)
	}
	defer v.Close()
	rs.Room("b").Close(ErrRoomClosed)
	if ended.Load() != 2 {
		t.Errorf("closing the room called ended %d times in all, want 2", ended.Load())
	}
}
