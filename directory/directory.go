// Package directory fixes each room's mode, SFU, mesh or auto, when the room is
// created, and keeps rooms of different modes from ever sharing a name.
//
// A room kind (sfu.Rooms, mesh.Rooms) claims a name from the directory when it
// creates a room and releases the claim when the room is removed. The first claim
// fixes the mode; while any claim is held, a claim for the other mode fails with
// ErrModeMismatch. Names that match a configured mesh pattern can only ever be mesh
// rooms, and those that match an auto pattern auto rooms. (An auto room holds its
// name in mode Auto; its SFU and mesh sides claim nothing: package auto keeps them.) Since every room of either kind holds a claim, the directory is where the
// server counts its rooms against its limit (ErrTooManyRooms).
package directory

import (
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/switchboard-rtc/switchboard/roster"
)

// Mode is how a room carries media: the membership core's.
type Mode = roster.Mode

// The modes.
const (
	// SFU: every participant sends its media to the server, which forwards it.
	SFU = roster.SFU
	// Mesh: the server relays signaling only; media flows between the peers.
	Mesh = roster.Mesh
	// Auto: mesh while small, SFU once it grows (package auto).
	Auto = roster.Auto
)

// ParseMode reports the Mode named by s, and whether s names one.
func ParseMode(s string) (Mode, bool) { return roster.ParseMode(s) }

// ErrModeMismatch is returned by Claim for a room that exists, or is configured, in
// the other mode. The wrapping error names the room and its mode.
var ErrModeMismatch = errors.New("room has another mode")

// ErrTooManyRooms is returned by Claim for a new room when the directory holds its
// maximum of rooms, of both modes together. The wrapping error names the maximum.
var ErrTooManyRooms = errors.New("the server has as many rooms as it may")

// Directory is what a room kind and a signaling session need: the mode a room gets
// when nobody asks for one, and claims on names. The in-memory Local is the
// single-node one; a multi-node build supplies its own.
type Directory interface {
	// DefaultMode is the mode of a new room named room when its first joiner names
	// none.
	DefaultMode(room string) Mode
	// Claim holds room in mode m until release is called (release may be called
	// more than once). It fails with ErrModeMismatch while the room is held in the
	// other mode, or when configuration fixes the other mode, and with
	// ErrTooManyRooms when room is not held and holding it would exceed the limit
	// on rooms, if the directory has one.
	Claim(room string, m Mode) (release func(), err error)
}

// Local is the in-memory Directory of one server. Safe for concurrent use; its
// methods never block on anything but its own short critical sections, so room
// kinds may call them while holding their own locks.
type Local struct {
	meshPatterns []string
	autoPatterns []string
	maxRooms     int

	mu   sync.Mutex
	held map[string]*hold
}

type hold struct {
	mode  Mode
	count int
}

var _ Directory = (*Local)(nil)

// Config configures a Local directory; the zero value has no mesh rooms by
// configuration and no limit on rooms.
type Config struct {
	// MeshRooms are patterns (path.Match syntax, e.g. "p2p-*") of the names of rooms
	// that are mesh rooms.
	MeshRooms []string
	// AutoRooms are patterns of the names of rooms that are auto rooms; a name that
	// matches a mesh pattern too is a mesh room.
	AutoRooms []string
	// MaxRooms bounds the names held at once, SFU and mesh rooms together: the
	// server's one count of its rooms. Zero or negative: no limit.
	MaxRooms int
}

// NewLocal returns an empty directory configured by cfg.
func NewLocal(cfg Config) (*Local, error) {
	for _, p := range cfg.MeshRooms {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("directory: mesh room pattern %q: %w", p, err)
		}
	}
	for _, p := range cfg.AutoRooms {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("directory: auto room pattern %q: %w", p, err)
		}
	}
	return &Local{meshPatterns: cfg.MeshRooms, autoPatterns: cfg.AutoRooms, maxRooms: cfg.MaxRooms,
		held: map[string]*hold{}}, nil
}

// configured is the mode configuration fixes for room, or "" when the first joiner
// decides.
func (d *Local) configured(room string) Mode {
	for _, p := range d.meshPatterns {
		if ok, _ := path.Match(p, room); ok {
			return Mesh
		}
	}
	for _, p := range d.autoPatterns {
		if ok, _ := path.Match(p, room); ok {
			return Auto
		}
	}
	return ""
}

// DefaultMode is Mesh for names that match a mesh pattern, Auto for those that match
// an auto pattern, else SFU.
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
	case h == nil && d.maxRooms > 0 && len(d.held) >= d.maxRooms:
		return nil, fmt.Errorf("%w (%d)", ErrTooManyRooms, d.maxRooms)
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
