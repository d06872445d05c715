package roster

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
)

type testRoom struct {
	id      RoomID
	count   int
	removed bool
}

func newTestRegistry(max int, claims map[RoomID]int) *Registry[*testRoom] {
	return NewRegistry(RegistryConfig[*testRoom]{
		MaxRooms: max,
		Claim: func(id RoomID) (func(), error) {
			if id == "taken" {
				return nil, errors.New("taken")
			}
			claims[id]++
			return func() { claims[id]-- }, nil
		},
		New:     func(id RoomID) *testRoom { return &testRoom{id: id} },
		Removed: func(r *testRoom) { r.removed = true },
	})
}

func TestRegistryHoldRelease(t *testing.T) {
	claims := map[RoomID]int{}
	g := newTestRegistry(2, claims)
	count := func(r *testRoom) error { r.count++; return nil }
	a, err := g.Hold("a", true, count)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := g.Hold("a", true, count); again != a || a.count != 2 {
		t.Fatalf("second hold of a: %p (count %d), want %p (count 2)", again, a.count, a)
	}
	if _, err := g.Hold("missing", false, nil); !errors.Is(err, ErrNoRoom) {
		t.Errorf("hold without create of a missing room: %v, want ErrNoRoom", err)
	}
	if _, err := g.Hold("taken", true, nil); err == nil || g.Len() != 1 {
		t.Errorf("a refused claim: %v, %d rooms", err, g.Len())
	}
	if _, err := g.Hold("b", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Hold("c", true, nil); !errors.Is(err, ErrTooManyRooms) {
		t.Errorf("third room of 2: %v, want ErrTooManyRooms", err)
	}
	if got := g.List(); len(got) != 2 || got[0] != a || got[1].id != "b" {
		t.Errorf("List = %v", got)
	}
	uncount := func(r *testRoom) { r.count-- }
	g.Release("a", uncount)
	if _, ok := g.Get("a"); !ok || a.removed || claims["a"] != 1 {
		t.Fatal("a removed while still held")
	}
	g.Release("a", uncount)
	if _, ok := g.Get("a"); ok || !a.removed || claims["a"] != 0 || a.count != 0 {
		t.Errorf("a after its last release: present %v, removed %v, claims %d, count %d", ok, a.removed, claims["a"], a.count)
	}
	g.Close()
	if _, err := g.Hold("b", true, nil); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("hold after Close: %v, want ErrShuttingDown", err)
	}
}

// TestRegistryAdmitRefusal: a hold refused by admit leaves no room behind and its
// claim released.
func TestRegistryAdmitRefusal(t *testing.T) {
	claims := map[RoomID]int{}
	g := newTestRegistry(0, claims)
	full := errors.New("full")
	var made *testRoom
	_, err := g.Hold("a", true, func(r *testRoom) error { made = r; return full })
	if err != full || g.Len() != 0 || claims["a"] != 0 || !made.removed {
		t.Errorf("refused: %v, %d rooms, claims %d, removed %v", err, g.Len(), claims["a"], made.removed)
	}
	if ids := g.List(); !slices.Equal(ids, []*testRoom{}) {
		t.Errorf("List = %v", ids)
	}
}

// TestRegistryHoldWaitsForARemoval: a room created again under a name whose room is
// still being removed is created once the removal is done.
func TestRegistryHoldWaitsForARemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		removing, finish := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		var log []string
		note := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
		g := NewRegistry(RegistryConfig[*testRoom]{
			New: func(id RoomID) *testRoom { note("new"); return &testRoom{id: id} },
			Removed: func(*testRoom) {
				close(removing)
				<-finish
				note("removed")
			},
		})
		if _, err := g.Hold("a", true, nil); err != nil {
			t.Fatal(err)
		}
		go g.Release("a", nil)
		<-removing
		held := make(chan error, 1)
		go func() { _, err := g.Hold("a", true, nil); held <- err }()
		synctest.Wait()
		select {
		case err := <-held:
			t.Fatalf("a hold returned (%v) while the room's removal runs", err)
		default:
		}
		close(finish)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		if want := []string{"new", "removed", "new"}; !slices.Equal(log, want) {
			t.Fatalf("%v, want %v", log, want)
		}
	})
}
