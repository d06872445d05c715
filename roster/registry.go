package roster

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// Claim claims a room name before a room is created with it, so that rooms of the
// other kind never share the name (the directory); release is called once the room
// is removed. It is called with the registry's lock held and must return quickly,
// without calling back into the registry.
type Claim func(id RoomID) (release func(), err error)

// RegistryConfig configures a Registry of rooms of type R. New is required.
type RegistryConfig[R any] struct {
	// MaxRooms bounds the rooms; a hold that would create one more fails with
	// ErrTooManyRooms. Zero or negative: no limit.
	MaxRooms int
	// Claim, when set, must succeed before a room is created; its error is Hold's.
	Claim Claim
	// New makes the room id. It is called with the registry's lock held and must
	// return quickly, without calling back into the registry.
	New func(id RoomID) R
	// Removed, when set, is called once the last hold of a room has been released
	// (or its creation undone), without the registry's lock and before its name's
	// claim is released: where the room stops what it runs. It must not hold the
	// room's name again: a hold of that name waits for it to return.
	Removed func(R)
}

// Registry is the set of rooms of one kind on one server, by name. A room is created
// by the first hold of its name and removed when its last hold is released. Safe for
// concurrent use.
type Registry[R any] struct {
	cfg RegistryConfig[R]

	mu    sync.Mutex
	rooms map[RoomID]*slot[R]
	// ending has the names of rooms taken out whose Removed and claim release are
	// still running; closed when they are done.
	ending map[RoomID]chan struct{}
	closed bool
}

type slot[R any] struct {
	room    R
	holds   int
	unclaim func() // nil without a claim
}

// NewRegistry returns an empty registry.
func NewRegistry[R any](cfg RegistryConfig[R]) *Registry[R] {
	return &Registry[R]{cfg: cfg, rooms: map[RoomID]*slot[R]{}, ending: map[RoomID]chan struct{}{}}
}

// Hold takes a hold on room id, creating it when it does not exist and create
// allows (else ErrNoRoom). admit, when set, is called with the registry's lock held
// before the hold is taken, on the room whether it is new or not: its error refuses
// the hold (a room created for it is removed again), and it is where a room kind
// counts what holds it. The caller must Release the hold. After Close, Hold fails
// with ErrShuttingDown.
//
// A hold of a name whose room is being removed waits until the removal is done
// (Removed has returned, the claim is released), so that everything the old room
// reports comes before anything of the new one.
func (g *Registry[R]) Hold(id RoomID, create bool, admit func(R) error) (R, error) {
	var zero R
	g.mu.Lock()
	for g.ending[id] != nil {
		done := g.ending[id]
		g.mu.Unlock()
		<-done
		g.mu.Lock()
	}
	if g.closed {
		g.mu.Unlock()
		return zero, ErrShuttingDown
	}
	s, err := g.slotLocked(id, create)
	if err != nil {
		g.mu.Unlock()
		return zero, err
	}
	if admit != nil {
		if err := admit(s.room); err != nil {
			g.unlockSweeping(id, s) // a room created for this hold goes again
			return zero, err
		}
	}
	s.holds++
	g.mu.Unlock()
	return s.room, nil
}

// slotLocked is the room id, created when needed and create allows. The caller
// holds g.mu.
func (g *Registry[R]) slotLocked(id RoomID, create bool) (*slot[R], error) {
	if s := g.rooms[id]; s != nil {
		return s, nil
	}
	if !create {
		return nil, ErrNoRoom
	}
	if max := g.cfg.MaxRooms; max > 0 && len(g.rooms) >= max {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyRooms, max)
	}
	s := &slot[R]{}
	if g.cfg.Claim != nil {
		var err error
		if s.unclaim, err = g.cfg.Claim(id); err != nil {
			return nil, err
		}
	}
	s.room = g.cfg.New(id)
	g.rooms[id] = s
	return s, nil
}

// Release drops a hold on room id, and removes the room when it was the last. drop,
// when set, is called with the registry's lock held first: where a room kind
// uncounts what its admit counted.
func (g *Registry[R]) Release(id RoomID, drop func(R)) {
	g.mu.Lock()
	s := g.rooms[id]
	if s == nil {
		g.mu.Unlock()
		return
	}
	if drop != nil {
		drop(s.room)
	}
	s.holds--
	g.unlockSweeping(id, s)
}

// unlockSweeping unlocks g.mu, which the caller holds, having taken the room id out
// of the registry when nothing holds it any more; it then ends that room (Removed)
// and releases its name's claim, without the lock.
func (g *Registry[R]) unlockSweeping(id RoomID, s *slot[R]) {
	empty := s.holds == 0
	if empty {
		delete(g.rooms, id)
		g.ending[id] = make(chan struct{})
	}
	g.mu.Unlock()
	if !empty {
		return
	}
	defer g.ended(id)
	if g.cfg.Removed != nil {
		g.cfg.Removed(s.room)
	}
	if s.unclaim != nil {
		s.unclaim()
	}
}

// ended lets the holds of id that wait for its room's removal go on.
func (g *Registry[R]) ended(id RoomID) {
	g.mu.Lock()
	done := g.ending[id]
	delete(g.ending, id)
	g.mu.Unlock()
	close(done)
}

// Get is the room id, and whether it exists (somebody holds it).
func (g *Registry[R]) Get(id RoomID) (R, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.rooms[id]; s != nil {
		return s.room, true
	}
	var zero R
	return zero, false
}

// List returns the rooms that exist now, by name.
func (g *Registry[R]) List() []R {
	g.mu.Lock()
	ids := make([]RoomID, 0, len(g.rooms))
	for id := range g.rooms {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, cmp.Compare)
	out := make([]R, len(ids))
	for i, id := range ids {
		out[i] = g.rooms[id].room
	}
	g.mu.Unlock()
	return out
}

// Len is the number of rooms.
func (g *Registry[R]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rooms)
}

// Close refuses further holds. Rooms already held stay until their holds are
// released.
func (g *Registry[R]) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
