package mesh

import (
	"errors"
	"log/slog"

	"github.com/switchboard-rtc/switchboard/roster"
)

// RoomID names a mesh room: the membership core's, checked by roster.ParseRoomID.
// Rooms are created on first join and removed when empty.
type RoomID = roster.RoomID

// PeerID identifies one member of one room; the server assigns it.
type PeerID = roster.ParticipantID

// PeerInfo describes a member to the rest of the room.
type PeerInfo struct {
	ID PeerID
	// Identity is who the member is, from its join token; empty without one.
	Identity string
	Name     string
	// Grants are the member's (JoinOptions.Grants); nil: no limits. The others see
	// them so that they send no media to a member that may not receive it.
	Grants *Grants
}

// ChatMessage is a text message to a whole room, stamped by the server.
type ChatMessage = roster.ChatMessage

// Observer is how a room reaches a member's owner (its signaling session): the
// membership core's events (Joined, ParticipantJoined, ParticipantLeft, Chat,
// Removed with ErrReplaced, ErrRemoved or ErrRoomClosed, after which the owner
// should end the member's session and call Leave) and relays. Every method must
// return quickly and never block: implementations queue and return. Membership
// events and chat are called with the room's lock held, so that every member sees
// joins, leaves and chat in the same order; relays are not.
type Observer interface {
	roster.Observer[PeerInfo]
	// Relay carries data that member from addressed to this one. data is the
	// sender's, unchanged; the member must not modify it.
	Relay(from PeerID, data []byte)
}

// Failer is an Observer that can be told its member must end: code serving the
// member (its own observer, called for another member's join, chat or relay)
// panicked, and the panic, a *safe.Error of internal/safe, has been logged and
// counted. Failed must return quickly, as every Observer method.
type Failer interface {
	Failed(err error)
}

// DefaultMaxSize is the number of members a room holds when Config.MaxSize is zero:
// every member sends its media to each other one, so a mesh call stays small.
const DefaultMaxSize = 6

// Errors of Join and Relay.
var (
	// ErrRoomFull: the room has its maximum number of members.
	ErrRoomFull = roster.ErrRoomFull
	// ErrUnknownPeer: a relay to no other member of the sender's room.
	ErrUnknownPeer = errors.New("mesh: no such peer in the room")
	// ErrShuttingDown: Close has been called.
	ErrShuttingDown = roster.ErrShuttingDown
	// ErrLeft: the member has left, or was removed.
	ErrLeft = errors.New("mesh: member has left")
	// ErrNoRoom: a join with JoinOptions.MustExist of a room that does not exist.
	ErrNoRoom = roster.ErrNoRoom
	// ErrForbidden: a relay that the sender's or the target's grants do not allow;
	// the wrapping error says which.
	ErrForbidden = errors.New("not allowed")
)

// Reasons given to Observer.Removed: why the server took a member out of its room.
// They are the membership core's, shared with SFU rooms.
var (
	// ErrReplaced: another member joined the room with the same identity.
	ErrReplaced = roster.ErrReplaced
	// ErrRemoved: an administrator removed the member.
	ErrRemoved = roster.ErrRemoved
	// ErrRoomClosed: an administrator closed the room.
	ErrRoomClosed = roster.ErrRoomClosed
)

// JoinOptions change a join. The zero value joins with no identity and no limits,
// creating the room if needed.
type JoinOptions struct {
	// Identity is who joins, from a join token. A member joining with the identity of
	// one already in the room replaces it: that one is removed (Observer.Removed with
	// ErrReplaced) before the newcomer joins. Empty: nobody is replaced.
	Identity string
	// Grants limit the media the member sends and receives; nil: no limits.
	Grants *Grants
	// MustExist refuses, with ErrNoRoom, to create the room: the member may only
	// join a room that others are in.
	MustExist bool
	// Transport names what carries the member's signaling ("websocket", "sse"), for
	// metrics (Rooms.Census). Empty is counted as "other".
	Transport string
	// LogAttrs (slog key-value pairs) go on every log line of the member, besides its
	// room and id: its transport, the request id that opened its session.
	LogAttrs []any
	// ID, when set, is the member's id instead of a new one: the id it has in the
	// other mode of an auto room (package auto, the only user). The caller
	// guarantees it is not in use in the room.
	ID PeerID
}

// ClaimFunc claims a room name before a room is created with it, so that rooms of
// other kinds (SFU rooms) never share the name; release is called once the room is
// removed. It is called with the set's lock held and must return quickly.
type ClaimFunc = roster.Claim

// Config configures a set of rooms; the zero value is usable.
type Config struct {
	// MaxSize bounds the members of each room. Zero means DefaultMaxSize.
	MaxSize int
	// Claim, when set, must succeed before a room is created; its error is Join's.
	Claim ClaimFunc
	// Logger receives room logs; nil means slog.Default().
	Logger *slog.Logger
	// Events, when set, hears of every room's lifecycle and membership.
	Events Events
}

// Rooms is the in-memory set of mesh rooms of one server. Safe for concurrent use.
type Rooms struct {
	cfg      Config
	log      *slog.Logger
	registry *roster.Registry[*Room]
}

// NewRooms returns an empty set of rooms.
func NewRooms(cfg Config) *Rooms {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	rs := &Rooms{cfg: cfg, log: log}
	rs.registry = roster.NewRegistry(roster.RegistryConfig[*Room]{Claim: cfg.Claim, New: rs.newRoom,
		Removed: func(r *Room) {
			r.log.Info("room closed")
			r.notify("room-finished event", func(ev Events) { ev.RoomFinished(r.id) })
		}})
	return rs
}

// newRoom makes the room id, with the registry's lock held.
func (rs *Rooms) newRoom(id RoomID) *Room {
	r := &Room{id: id, log: rs.log.With("room", id, "mode", "mesh"), events: rs.cfg.Events}
	r.members.Left = func(m *Member) {
		r.notify("participant-left event", func(ev Events) { ev.ParticipantLeft(id, m.Info()) })
	}
	r.log.Info("room created")
	r.notify("room-started event", func(ev Events) { ev.RoomStarted(id) })
	return r
}

// MaxSize is the number of members a room holds.
func (rs *Rooms) MaxSize() int { return rs.cfg.MaxSize }

// Join adds a member named name to room id, creating the room if needed. obs
// receives the member's events, starting with Joined (called before Join returns).
// The caller owns the member and must call its Leave.
func (rs *Rooms) Join(id RoomID, name string, obs Observer) (*Member, error) {
	return rs.JoinWith(id, name, obs, JoinOptions{})
}

// JoinWith is Join with options.
func (rs *Rooms) JoinWith(id RoomID, name string, obs Observer, opts JoinOptions) (*Member, error) {
	// A room lives while it is held.
	r, err := rs.registry.Hold(id, !opts.MustExist, nil)
	if err != nil {
		return nil, err
	}
	pid := opts.ID
	if pid == "" {
		pid = roster.NewParticipantID()
	}
	m := &Member{id: pid, identity: opts.Identity, name: name, grants: opts.Grants, room: r,
		obs: obs, rooms: rs, left: make(chan struct{}), transport: opts.Transport}
	// "participant", as the SFU's and the sessions' lines name it.
	m.log = r.log.With("participant", m.id).With(opts.LogAttrs...)
	if opts.Identity != "" {
		m.log = m.log.With("identity", opts.Identity)
	}
	if err := r.add(m, rs.cfg.MaxSize); err != nil {
		rs.release(r)
		return nil, err
	}
	return m, nil
}

// release drops a hold on r and removes the room when it was the last.
func (rs *Rooms) release(r *Room) { rs.registry.Release(r.id, nil) }

// Room returns the room named id, or nil when nobody is in it.
func (rs *Rooms) Room(id RoomID) *Room {
	r, _ := rs.registry.Get(id)
	return r
}

// List returns the rooms that exist now, by name.
func (rs *Rooms) List() []*Room { return rs.registry.List() }

// Len is the number of rooms.
func (rs *Rooms) Len() int { return rs.registry.Len() }

// Close refuses further joins. Members already in rooms stay until their owners call
// Leave.
func (rs *Rooms) Close() { rs.registry.Close() }
