// Package directory fixes each room's mode, SFU or mesh, when the room is created, and
// keeps an SFU room and a mesh room from ever sharing a name.
//
// A room kind (sfu.Rooms, mesh.Rooms) claims a name from the directory when it
// creates a room and releases the claim when the room is removed. The first claim
// fixes the mode; while any claim is held, a claim for the other mode fails with
// ErrModeMismatch. Names that match a configured mesh pattern can only ever be mesh
// rooms.
package directory

import (
	"errors"
	"fmt"
	"path"
	"sync"
)

// Mode is how a room carries media.
type Mode string

// The two modes.
const (
	// SFU: every participant sends its media to the server, which forwards it.
	SFU Mode = "sfu"
	// Mesh: the server relays signaling only; media flows between the peers.
	Mesh Mode = "mesh"
)

// ParseMode reports the Mode named by s, and whether s names one.
func ParseMode(s string) (Mode, bool) {
	switch m := Mode(s); m {
	case SFU, Mesh:
		return m, true
	}
	return "", false
}

// ErrModeMismatch is returned by Claim for a room that exists, or is configured, in
// the other mode. The wrapping error names the room and its mode.
var ErrModeMismatch = errors.New("room has another mode")

// Directory is what a room kind and a signaling session need: the mode a room gets
// when nobody asks for one, and claims on names. The in-memory Local is the
// single-node one; a multi-node build supplies its own.
type Directory interface {
	// DefaultMode is the mode of a new room named room when its first joiner names
	// none.
	DefaultMode(room string) Mode
	// Claim holds room in mode m until release is called (release may be called
	// more than once). It fails with ErrModeMismatch while the room is held in the
	// other mode, or when configuration fixes the other mode.
	Claim(room string, m Mode) (release func(), err error)
}

// Local is the in-memory Directory of one server. Safe for concurrent use; its
// methods never block on anything but its own short critical sections, so room
// kinds may call them while holding their own locks.
type Local struct {
	meshPatterns []string

	mu   sync.Mutex
	held map[string]*hold
}

type hold struct {
	mode  Mode
	count int
}

var _ Directory = (*Local)(nil)

// NewLocal returns an empty directory in which rooms whose names match one of
// meshPatterns (path.Match syntax, e.g. "p2p-*") are mesh rooms.
func NewLocal(meshPatterns []string) (*Local, error) {
	for _, p := range meshPatterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("directory: mesh room pattern %q: %w", p, err)
		}
	}
	return &Local{meshPatterns: meshPatterns, held: map[string]*hold{}}, nil
}

// configured is the mode configuration fixes for room, or "" when the first joiner
// decides.
func (d *Local) configured(room string) Mode {
	for _, p := range d.meshPatterns {
		if ok, _ := path.Match(p, room); ok {
			return Mesh
		}
	}
	return ""
}

// DefaultMode is Mesh for names that match a mesh pattern, else SFU.
func (d *Local) DefaultMode(room string) Mode {
	if m := d.configured(room); m != "" {
		return m
	}
	return SFU
}

// Claim implements Directory.
func (d *Local) Claim(room string, m Mode) (func(), error) {
	if fixed := d.configured(room); fixed != "" && fixed != m {
		return nil, fmt.Errorf("%w: room %q is a %s room by configuration", ErrModeMismatch, room, fixed)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.held[room]
	switch {
	case h == nil:
		h = &hold{mode: m}
		d.held[room] = h
	case h.mode != m:
		return nil, fmt.Errorf("%w: room %q is a %s room", ErrModeMismatch, room, h.mode)
	}
	h.count++
	var once sync.Once
	return func() { once.Do(func() { d.release(room) }) }, nil
}

func (d *Local) release(room string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.held[room]
	if h == nil {
		return
	}
	if h.count--; h.count == 0 {
		delete(d.held, room)
	}
}

// Mode reports the mode room is held in, and whether it is held at all.
func (d *Local) Mode(room string) (Mode, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h := d.held[room]; h != nil {
		return h.mode, true
	}
	return "", false
}
