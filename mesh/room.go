package mesh

import (
	"log/slog"
	"sync"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// Room is one mesh room: its members and nothing else.
type Room struct {
	id  RoomID
	log *slog.Logger

	events Events // nil: nobody hears

	// mu guards members. Observers are called with it held (they only queue), so
	// that membership events and chat reach every member in one order.
	mu      sync.Mutex
	members roster.Members[PeerInfo, *Member]
}

// ID names the room.
func (r *Room) ID() RoomID { return r.id }

// Peers describes who is in the room now, in join order.
func (r *Room) Peers() []PeerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members.Infos()
}

// add makes m a member unless the room has max members already. A member with m's
// identity is removed first (ErrReplaced), and does not count against max.
func (r *Room) add(m *Member, max int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	present, err := r.members.Join(m, roster.Contact[PeerInfo]{Events: m.obs, Fail: m.fail, Log: m.log}, max)
	if err != nil {
		return err
	}
	m.log.Info("peer joined", "name", m.name, "present", present)
	r.notify("participant-joined event", func(ev Events) { ev.ParticipantJoined(r.id, m.Info()) })
	return nil
}

// remove takes m out of the room and tells the others, unless quietly.
func (r *Room) remove(m *Member, quietly bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if quietly {
		r.members.LeaveQuietly(m)
		return
	}
	r.members.Leave(m)
}

// Remove takes the member id out of the room for reason (ErrRemoved, say): the others
// are told it left, and its owner is told why through Observer.Removed. It returns
// ErrUnknownPeer when id is not in the room.
func (r *Room) Remove(id PeerID, reason error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.members.Remove(id, reason) {
		return ErrUnknownPeer
	}
	return nil
}

// Close removes every member for reason (ErrRoomClosed), each told through
// Observer.Removed, and returns how many. The room goes away once their owners have
// called Leave, as after any last leave.
func (r *Room) Close(reason error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.members.RemoveAll(reason)
	r.log.Info("room closed by an administrator", "removed", n)
	return n
}

// route finds the target of a relay from m: ErrLeft when m is no longer a member,
// ErrUnknownPeer when to is not another one.
func (r *Room) route(m *Member, to PeerID) (*Member, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch target, ok := r.members.Find(to); {
	case !r.members.Has(m):
		return nil, ErrLeft
	case !ok || target == m:
		return nil, ErrUnknownPeer
	default:
		return target, nil
	}
}

func (r *Room) chat(msg ChatMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members.Chat(msg)
}

// Member is one peer in one mesh room. It is created by Rooms.Join and lives until
// Leave. Its methods are safe for concurrent use.
type Member struct {
	id       PeerID
	identity string
	name     string
	grants   *Grants
	room     *Room
	obs      Observer
	log      *slog.Logger

	transport string // JoinOptions.Transport, for metrics

	leaveOnce sync.Once
	rooms     *Rooms
	left      chan struct{}
}

// ID is the member's server-assigned id.
func (m *Member) ID() PeerID { return m.id }

// Name is the display name the member joined with.
func (m *Member) Name() string { return m.name }

// RoomID names the member's room.
func (m *Member) RoomID() RoomID { return m.room.id }

// Identity is who the member is, from its join token; empty without one.
func (m *Member) Identity() string { return m.identity }

// Info describes the member to the rest of the room.
func (m *Member) Info() PeerInfo {
	return PeerInfo{ID: m.id, Identity: m.identity, Name: m.name, Grants: m.grants}
}

// Relay hands data to member to, stamped as coming from m. It does not wait for the
// target: the target's observer queues it. It fails with ErrUnknownPeer when to is
// not another member of m's room, with ErrLeft after Leave or removal, and with
// ErrForbidden when data carries a description that the grants of m or of the target
// do not allow (mayRelay).
func (m *Member) Relay(to PeerID, data []byte) error {
	if m.hasLeft() {
		return ErrLeft
	}
	target, err := m.room.route(m, to)
	if err != nil {
		return err
	}
	if err := mayRelay(m.grants, target.grants, data); err != nil {
		return err
	}
	tell(target, "relay", func(obs Observer) { obs.Relay(m.id, data) })
	return nil
}

// tell calls fn with m's observer, for another member's relay (the membership core
// tells it of joins, leaves and chat, the same way). A panic there is in code
// serving m alone: it is logged and counted, m's observer is told to end m when it
// can be (Failer), and the caller goes on.
func tell(m *Member, what string, fn func(Observer)) {
	defer safe.Recover(m.log, what, m.fail)
	fn(m.obs)
}

// fail tells m's observer, if it is a Failer, that code serving m panicked.
func (m *Member) fail(err error) {
	if f, ok := m.obs.(Failer); ok {
		f.Failed(err)
	}
}

// Chat sends text to everyone in the room, m included, stamped with m's id, name and
// the current time.
func (m *Member) Chat(text string) error {
	if m.hasLeft() {
		return ErrLeft
	}
	m.room.chat(roster.NewChat(m.id, m.name, text))
	return nil
}

// Leave removes m from its room; everyone else is told. Safe to call more than once.
func (m *Member) Leave() { m.leave(false) }

// LeaveQuietly is Leave without telling the others: m goes on, under its id, in the
// other mode of its auto room.
func (m *Member) LeaveQuietly() { m.leave(true) }

func (m *Member) leave(quietly bool) {
	m.leaveOnce.Do(func() {
		close(m.left)
		m.room.remove(m, quietly)
		m.rooms.release(m.room)
		m.log.Info("peer left", "quietly", quietly)
	})
}

func (m *Member) hasLeft() bool {
	select {
	case <-m.left:
		return true
	default:
		return false
	}
}
