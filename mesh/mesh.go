package mesh

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// RoomID names a mesh room. Rooms are created on first join and removed when empty.
type RoomID string

// PeerID identifies one member of one room; the server assigns it.
type PeerID string

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
type ChatMessage struct {
	From PeerID
	Name string
	Text string
	Time time.Time
}

// Observer is how a room reaches a member's owner (its signaling session). Every
// method must return quickly and never block: implementations queue and return.
// Membership events and chat are called with the room's lock held, so that every
// member sees joins, leaves and chat in the same order; relays are not.
type Observer interface {
	// Joined reports that the member is in the room, with the others present.
	Joined(self PeerInfo, others []PeerInfo)
	PeerJoined(PeerInfo)
	PeerLeft(PeerInfo)
	// Relay carries data that member from addressed to this one. data is the
	// sender's, unchanged; the member must not modify it.
	Relay(from PeerID, data []byte)
	Chat(ChatMessage)
	// Removed reports that the server took the member out of its room for reason
	// (ErrReplaced, ErrRemoved, ErrRoomClosed); the others have been told it left.
	// The owner should end the member's session and call Leave.
	Removed(reason error)
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
	ErrRoomFull = errors.New("mesh: room is full")
	// ErrUnknownPeer: a relay to no other member of the sender's room.
	ErrUnknownPeer = errors.New("mesh: no such peer in the room")
	// ErrShuttingDown: Close has been called.
	ErrShuttingDown = errors.New("mesh: server is shutting down")
	// ErrLeft: the member has left, or was removed.
	ErrLeft = errors.New("mesh: member has left")
	// ErrNoRoom: a join with JoinOptions.MustExist of a room that does not exist.
	ErrNoRoom = errors.New("mesh: no such room")
	// ErrForbidden: a relay that the sender's or the target's grants do not allow;
	// the wrapping error says which.
	ErrForbidden = errors.New("not allowed")
)

// Reasons given to Observer.Removed: why the server took a member out of its room.
var (
	// ErrReplaced: another member joined the room with the same identity.
	ErrReplaced = errors.New("another connection joined the room with the same identity")
	// ErrRemoved: an administrator removed the member.
	ErrRemoved = errors.New("removed from the room by an administrator")
	// ErrRoomClosed: an administrator closed the room.
	ErrRoomClosed = errors.New("the room was closed by an administrator")
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
}

// ClaimFunc claims a room name before a room is created with it, so that rooms of
// other kinds (SFU rooms) never share the name; release is called once the room is
// removed. It is called with the set's lock held and must return quickly.
type ClaimFunc func(id RoomID) (release func(), err error)

// Config configures a set of rooms; the zero value is usable.
type Config struct {
	// MaxSize bounds the members of each room. Zero means DefaultMaxSize.
	MaxSize int
	// Claim, when set, must succeed before a room is created; its error is Join's.
	Claim ClaimFunc
	// Logger receives room logs; nil means slog.Default().
	Logger *slog.Logger
}

// Rooms is the in-memory set of mesh rooms of one server. Safe for concurrent use.
type Rooms struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	rooms  map[RoomID]*Room
	closed bool
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
	return &Rooms{cfg: cfg, log: log, rooms: map[RoomID]*Room{}}
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
	r, err := rs.hold(id, !opts.MustExist)
	if err != nil {
		return nil, err
	}
	m := &Member{id: PeerID(newID("p_")), identity: opts.Identity, name: name, grants: opts.Grants, room: r,
		obs: obs, rooms: rs, left: make(chan struct{})}
	m.log = r.log.With("peer", m.id)
	if opts.Identity != "" {
		m.log = m.log.With("identity", opts.Identity)
	}
	if err := r.add(m, rs.cfg.MaxSize); err != nil {
		rs.release(r)
		return nil, err
	}
	return m, nil
}

// hold takes a hold on room id, creating it if needed and create allows. A room
// lives while it is held.
func (rs *Rooms) hold(id RoomID, create bool) (*Room, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil, ErrShuttingDown
	}
	r := rs.rooms[id]
	if r == nil && !create {
		return nil, ErrNoRoom
	}
	if r == nil {
		var unclaim func()
		if rs.cfg.Claim != nil {
			var err error
			if unclaim, err = rs.cfg.Claim(id); err != nil {
				return nil, err
			}
		}
		r = &Room{id: id, log: rs.log.With("room", id, "mode", "mesh"), unclaim: unclaim, members: map[PeerID]*Member{}}
		rs.rooms[id] = r
		r.log.Info("room created")
	}
	r.holds++
	return r, nil
}

// release drops a hold on r and removes the room when it was the last.
func (rs *Rooms) release(r *Room) {
	rs.mu.Lock()
	r.holds--
	empty := r.holds == 0
	if empty {
		delete(rs.rooms, r.id)
	}
	rs.mu.Unlock()
	if empty {
		if r.unclaim != nil {
			r.unclaim()
		}
		r.log.Info("room closed")
	}
}

// Room returns the room named id, or nil when nobody is in it.
func (rs *Rooms) Room(id RoomID) *Room {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.rooms[id]
}

// List returns the rooms that exist now, by name.
func (rs *Rooms) List() []*Room {
	rs.mu.Lock()
	out := make([]*Room, 0, len(rs.rooms))
	for _, r := range rs.rooms {
		out = append(out, r)
	}
	rs.mu.Unlock()
	slices.SortFunc(out, func(a, b *Room) int { return cmp.Compare(a.id, b.id) })
	return out
}

// Len is the number of rooms.
func (rs *Rooms) Len() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.rooms)
}

// Close refuses further joins. Members already in rooms stay until their owners call
// Leave.
func (rs *Rooms) Close() {
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
}

// newID returns prefix followed by 16 random bytes in URL-safe base64: ids are
// unguessable, so knowing one grants nothing.
func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
