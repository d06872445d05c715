package auto

import (
	"log/slog"
	"sync"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// Mode is the mode of an auto room now: roster.Mesh or roster.SFU.
type Mode = roster.Mode

// Observer is how an auto room tells a seat's owner to follow a switch. Its methods
// are called with the room's lock held (see the package comment): they must only
// queue and return.
type Observer interface {
	// Switch: the room is changing to mode, in its switch number epoch (from 1).
	// The owner joins the new mode's side (Seat.JoinSFU, Seat.JoinMesh) and,
	// once its client has the new mode's media, reports Seat.Switched.
	Switch(mode Mode, epoch int)
	// Switched: switch epoch to mode is over. The owner leaves its old mode's side
	// quietly (sfu.Participant.LeaveQuietly, mesh.Member.LeaveQuietly).
	Switched(mode Mode, epoch int)
	// Replaced: another seat joined with this one's identity, and this one is no
	// longer in the room. The owner ends it.
	Replaced()
}

// Participant describes a seat to the world outside the room (Events).
type Participant struct {
	ID       roster.ParticipantID
	Identity string
	Name     string
	// Transport carries the participant ("websocket", "sse", "whip", "sfu-ws"); empty
	// when not named.
	Transport string
}

// Events hears of the auto rooms' lifecycle and seats, for notices to the world
// outside (webhooks): a room starts with its first seat and finishes after its last
// has left; a participant joins with its seat and leaves with it, whatever the
// sides it moves between. Every method must return quickly (queue and return); it
// is called with a lock held.
type Events = roster.Events[Participant]

// JoinOptions change a join. The zero value is a native participant with no
// identity, who may create the room.
type JoinOptions struct {
	// Name and Transport describe the participant to Events.
	Name, Transport string
	// Viewer: the seat is a WHEP viewer's, not a participant's: Events are not told
	// of it.
	Viewer bool
	// Identity is who joins, from a join token: a seat with the same identity is
	// replaced (Observer.Replaced). Empty: nobody is replaced.
	Identity string
	// Fixed: the participant can only use the SFU (WHIP, WHEP, sfu-ws). Its join
	// promotes a mesh room at once, and the room is not demoted while it is in.
	Fixed bool
	// MustExist refuses, with ErrNoRoom, to create the room.
	MustExist bool
	// Observer hears of the room's switches; nil hears nothing (a fixed seat,
	// whose side never changes).
	Observer Observer
}

// Rooms is the set of auto rooms of one server. Safe for concurrent use.
type Rooms struct {
	cfg      Config
	log      *slog.Logger
	registry *roster.Registry[*Room]
}

// New returns an empty set of auto rooms configured by cfg.
func New(cfg Config) (*Rooms, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rs := &Rooms{cfg: cfg, log: cfg.Logger}
	rs.registry = roster.NewRegistry(roster.RegistryConfig[*Room]{Claim: cfg.Claim, New: rs.newRoom,
		Removed: func(r *Room) {
			r.stop()
			rs.notify(r.log, "room-finished event", func(ev Events) { ev.RoomFinished(r.id) })
		}})
	return rs, nil
}

// newRoom makes the room id, with the registry's lock held.
func (rs *Rooms) newRoom(id roster.RoomID) *Room {
	r := &Room{id: id, rooms: rs, log: rs.log.With("room", id, "mode", "auto"), mode: roster.Mesh}
	r.log.Info("room created")
	rs.notify(r.log, "room-started event", func(ev Events) { ev.RoomStarted(id) })
	return r
}

// notify calls fn with the Events, if any; a panic there is logged and counted.
func (rs *Rooms) notify(log *slog.Logger, what string, fn func(Events)) {
	if rs.cfg.Events == nil {
		return
	}
	defer safe.Recover(log, what, nil)
	fn(rs.cfg.Events)
}

// Join seats a participant in room id, creating the room if needed (and allowed),
// and returns its seat: Seat.Mode is the side its owner joins now. The owner must
// call Seat.Leave.
func (rs *Rooms) Join(id roster.RoomID, opts JoinOptions) (*Seat, error) {
	r, err := rs.registry.Hold(id, !opts.MustExist, nil)
	if err != nil {
		return nil, err
	}
	s := &Seat{id: roster.NewParticipantID(), identity: opts.Identity, fixed: opts.Fixed, obs: opts.Observer, room: r,
		name: opts.Name, transport: opts.Transport, viewer: opts.Viewer}
	r.add(s)
	return s, nil
}

// Exists reports whether the auto room id exists now.
func (rs *Rooms) Exists(id roster.RoomID) bool {
	_, ok := rs.registry.Get(id)
	return ok
}

// Room is the auto room id, nil when nobody is in it.
func (rs *Rooms) Room(id roster.RoomID) *Room {
	r, _ := rs.registry.Get(id)
	return r
}

// List returns the auto rooms that exist now, by name.
func (rs *Rooms) List() []*Room { return rs.registry.List() }

// Len is the number of auto rooms.
func (rs *Rooms) Len() int { return rs.registry.Len() }

// Seats is how many participants the auto rooms have now, those that cannot do
// mesh included.
func (rs *Rooms) Seats() int {
	n := 0
	for _, r := range rs.registry.List() {
		n += r.State().Seats
	}
	return n
}

// Sides is how many rooms the SFU and the mesh sides of the auto rooms have now.
func (rs *Rooms) Sides() (sfu, mesh int) {
	if rs.cfg.SFU != nil {
		sfu = rs.cfg.SFU.Len()
	}
	if rs.cfg.Mesh != nil {
		mesh = rs.cfg.Mesh.Len()
	}
	return sfu, mesh
}

// Close refuses further joins. Seats already taken stay until their owners leave.
func (rs *Rooms) Close() { rs.registry.Close() }

// Seat is one participant's place in an auto room, from Rooms.Join to Leave: its id,
// the same on both sides. Its methods are safe for concurrent use.
type Seat struct {
	id        roster.ParticipantID
	identity  string
	name      string
	transport string
	viewer    bool
	fixed     bool
	obs       Observer
	room      *Room

	leaveOnce sync.Once

	// Guarded by room.mu.
	mode Mode // the side it was last told to join
	gone bool // it left, or was replaced
}

// info describes the seat to Events.
func (s *Seat) info() Participant {
	return Participant{ID: s.id, Identity: s.identity, Name: s.name, Transport: s.transport}
}

// ID is the participant's id, on both sides.
func (s *Seat) ID() roster.ParticipantID { return s.id }

// RoomID names the seat's room.
func (s *Seat) RoomID() roster.RoomID { return s.room.id }

// Mode is the side the seat's owner was last told to join: at Join, the room's
// mode then (the new one during a switch); after Observer.Switch, that switch's.
func (s *Seat) Mode() Mode {
	s.room.mu.Lock()
	defer s.room.mu.Unlock()
	return s.mode
}

// Switched reports that the seat's client has the new mode's media of switch epoch
// playing (or gave up waiting for it). It reports false when epoch is not a switch
// the room is waiting for this seat in: one that is over, or never was.
func (s *Seat) Switched(epoch int) bool { return s.room.switched(s, epoch) }

// Leave gives the seat up. Safe to call more than once.
func (s *Seat) Leave() {
	s.leaveOnce.Do(func() {
		s.room.remove(s)
		s.room.rooms.registry.Release(s.room.id, nil)
	})
}
