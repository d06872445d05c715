package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/switchboard-rtc/switchboard/internal/safe"
)

// Room is a set of participants who receive each other's tracks.
//
// Membership and the tracks each member publishes are owned by the room's operation
// queue: joins, leaves, publications and chat run there one at a time, so every member
// sees the room's events in the same order. Media never passes through the room.
type Room struct {
	id    RoomID
	rooms *Rooms
	log   *slog.Logger
	ops   *opQueue

	// Guarded by rooms.mu: holds not yet released (participants and viewers), and
	// how many of them are participants and viewers.
	count, participants, viewing int
	// unclaim releases the room's name (RoomsOptions.Claim); nil without a claim.
	unclaim func()

	// Owned by the operation queue's goroutine.
	members []*member
	viewers []*Viewer
}

type member struct {
	p      *Participant
	tracks []*Track
}

// ID names the room.
func (r *Room) ID() RoomID { return r.id }

func (r *Room) find(id ParticipantID) *member {
	for _, m := range r.members {
		if m.p.id == id {
			return m
		}
	}
	return nil
}

func (r *Room) joinOp(p *Participant) {
	if p.identity != "" {
		if i := slices.IndexFunc(r.members, func(m *member) bool { return m.p.identity == p.identity }); i >= 0 {
			r.members[i].p.log.Info("participant replaced by a new connection with its identity")
			r.removeOp(r.members[i].p, ErrReplaced)
		}
	}
	others := make([]ParticipantInfo, 0, len(r.members))
	self := p.info(nil)
	for _, m := range r.members {
		others = append(others, m.p.info(m.tracks))
		tell(m.p, "participant-joined notice", func(o Observer) { o.ParticipantJoined(self) })
	}
	tell(p, "joined notice", func(o Observer) { o.Joined(self, others) })
	r.members = append(r.members, &member{p: p})
	for _, m := range r.members {
		for _, t := range m.tracks {
			p.sub.add(t)
		}
	}
	p.log.Info("participant joined", "name", p.name, "present", len(others))
	r.retarget()
}

func (r *Room) leaveOp(p *Participant) {
	i := slices.IndexFunc(r.members, func(m *member) bool { return m.p == p })
	if i < 0 {
		return
	}
	gone := r.members[i]
	r.members = slices.Delete(r.members, i, i+1)
	for _, t := range gone.tracks {
		r.broadcastUnpublished(t)
	}
	info := p.info(nil)
	for _, m := range r.members {
		tell(m.p, "participant-left notice", func(o Observer) { o.ParticipantLeft(info) })
	}
	r.retarget()
}

// removeOp takes p out of the room as if it had left, and tells its owner why; the
// owner then calls Leave, which finds it gone.
func (r *Room) removeOp(p *Participant, reason error) {
	r.leaveOp(p)
	tell(p, "removed notice", func(o Observer) { o.Removed(reason) })
}

// publish adds t to p's tracks and subscribes everyone else to it.
func (r *Room) publish(p *Participant, t *Track) {
	r.ops.post(func() {
		m := r.find(p.id)
		if m == nil {
			return // p left while its track was starting
		}
		m.tracks = append(m.tracks, t)
		for _, o := range r.members {
			if o != m {
				tell(o.p, "track-published notice", func(obs Observer) { obs.TrackPublished(t.Info()) })
				o.p.sub.add(t)
			}
		}
		r.retarget()
	})
}

// unpublish removes t from p's tracks and from every subscriber. Unpublishing a track
// twice is harmless.
func (r *Room) unpublish(p *Participant, t *Track) {
	r.ops.post(func() {
		m := r.find(p.id)
		if m == nil {
			return
		}
		i := slices.Index(m.tracks, t)
		if i < 0 {
			return
		}
		m.tracks = slices.Delete(m.tracks, i, i+1)
		r.broadcastUnpublished(t)
		r.retarget()
		t.log.Info("track unpublished")
	})
}

func (r *Room) broadcastUnpublished(t *Track) {
	for _, o := range r.members {
		if o.p.id != t.info.Participant {
			o.p.sub.remove(t.info.ID)
			tell(o.p, "track-unpublished notice", func(obs Observer) { obs.TrackUnpublished(t.Info()) })
		}
	}
}

// tell calls fn with p's observer, from a room operation that tells every member in
// turn. A panic there is in code serving p alone: it is logged, p is ended
// (Observer.Failed), and the operation goes on with the other members.
func tell(p *Participant, what string, fn func(Observer)) {
	defer safe.Recover(p.log, what, p.obs.Failed)
	fn(p.obs)
}

func (r *Room) chatOp(msg ChatMessage) {
	for _, m := range r.members {
		tell(m.p, "chat notice", func(o Observer) { o.Chat(msg) })
	}
}

// Participants describes who is in the room now, with their tracks.
func (r *Room) Participants() []ParticipantInfo {
	var out []ParticipantInfo
	r.ops.do(func() {
		for _, m := range r.members {
			out = append(out, m.p.info(m.tracks))
		}
	})
	return out
}

// Rooms is the in-memory set of rooms of one server. A room is created by its first
// join and removed when its last participant leaves. Safe for concurrent use.
type Rooms struct {
	engine *Engine
	log    *slog.Logger
	claim  ClaimFunc

	mu      sync.Mutex
	rooms   map[RoomID]*Room
	viewers int // viewers of every room, held and not yet released
	closed  bool
}

// ErrShuttingDown is returned by Join once Close has been called.
var ErrShuttingDown = errors.New("sfu: server is shutting down")

// ClaimFunc claims a room name before a room is created with it, so that rooms of
// other kinds (mesh rooms) never share the name; release is called once the room is
// removed. It is called with the set's lock held and must return quickly, without
// calling back into the set.
type ClaimFunc func(id RoomID) (release func(), err error)

// RoomsOptions change a set of rooms. The zero value is a set that shares its names
// with nothing.
type RoomsOptions struct {
	// Claim, when set, must succeed before a room is created; its error is Join's.
	Claim ClaimFunc
}

// NewRooms returns an empty set of rooms whose participants' connections are built by
// engine.
func NewRooms(engine *Engine) *Rooms {
	return NewRoomsWith(engine, RoomsOptions{})
}

// NewRoomsWith is NewRooms with options.
func NewRoomsWith(engine *Engine, opts RoomsOptions) *Rooms {
	return &Rooms{engine: engine, log: engine.log, claim: opts.Claim, rooms: map[RoomID]*Room{}}
}

// Join adds a participant named name to the room id, creating the room if needed.
// obs receives the participant's events, starting with Joined. The caller owns the
// participant and must call its Leave.
func (rs *Rooms) Join(id RoomID, name string, obs Observer) (*Participant, error) {
	return rs.JoinWith(id, name, obs, JoinOptions{})
}

// JoinWith is Join with options.
func (rs *Rooms) JoinWith(id RoomID, name string, obs Observer, opts JoinOptions) (*Participant, error) {
	// The subscriber's connection only sends, unless it is the participant's only one.
	newConnection := rs.engine.newSubscriberConnection
	if opts.SingleConnection {
		newConnection = rs.engine.newPublisherConnection
	}
	subPC, err := newConnection()
	if err != nil {
		return nil, err
	}
	r, err := rs.holdOrCreate(id)
	if err != nil {
		_ = closeConnection(rs.engine, subPC)
		return nil, err
	}

	pid := ParticipantID(newID("p_"))
	p := &Participant{id: pid, identity: opts.Identity, name: name, grants: opts.Grants, room: r, obs: obs,
		log: r.log.With("participant", pid)}
	if opts.Identity != "" {
		p.log = p.log.With("identity", opts.Identity)
	}
	p.sub = newSubscriber(p, subPC)
	if opts.SingleConnection {
		p.pub = newPublisherOn(p, rs.engine, subPC)
		p.sub.receiveAV(p.grants.maySend(SourceMicrophone), p.grants.maySend(SourceCamera))
	} else {
		p.pub = newPublisher(p, rs.engine)
	}
	r.ops.post(func() { r.joinOp(p) })
	return p, nil
}

// holdOrCreate takes a participant's hold on the room id, creating it if needed,
// within the limits on rooms and participants.
func (rs *Rooms) holdOrCreate(id RoomID) (*Room, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil, ErrShuttingDown
	}
	limits := rs.engine.limits
	r := rs.rooms[id]
	if r == nil {
		if exceeds(len(rs.rooms)+1, limits.MaxRooms) {
			return nil, fmt.Errorf("%w (%d)", ErrTooManyRooms, limits.MaxRooms)
		}
		var unclaim func()
		if rs.claim != nil {
			var err error
			if unclaim, err = rs.claim(id); err != nil {
				return nil, err
			}
		}
		r = &Room{id: id, rooms: rs, log: rs.log.With("room", id), unclaim: unclaim}
		// A room operation that panics is dropped and logged; the room goes on.
		r.ops = newOpQueue(nil, rs.log.With("room", id), nil)
		rs.rooms[id] = r
		r.log.Info("room created")
	} else if err := r.admitsOneMoreLocked(); err != nil {
		return nil, err
	}
	r.count++
	r.participants++
	return r, nil
}

// admitsOneMoreLocked reports, with ErrRoomFull, whether r has no place left under
// Limits.MaxParticipants: its participants and its viewers each take one. The caller
// holds rooms.mu.
func (r *Room) admitsOneMoreLocked() error {
	limit := r.rooms.engine.limits.MaxParticipants
	if exceeds(r.participants+r.viewing+1, limit) {
		return fmt.Errorf("%w: %d participants and viewers", ErrRoomFull, limit)
	}
	return nil
}

// holdViewer takes a viewer's hold on the existing room id, within the room's
// places and the server's Limits.MaxViewers.
func (rs *Rooms) holdViewer(id RoomID) (*Room, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil, ErrShuttingDown
	}
	r := rs.rooms[id]
	if r == nil {
		return nil, ErrNoRoom
	}
	if err := r.admitsOneMoreLocked(); err != nil {
		return nil, err
	}
	if limit := rs.engine.limits.MaxViewers; exceeds(rs.viewers+1, limit) {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyViewers, limit)
	}
	r.count++
	r.viewing++
	rs.viewers++
	return r, nil
}

// releaseViewer drops a viewer's hold on r.
func (rs *Rooms) releaseViewer(r *Room) {
	rs.mu.Lock()
	r.viewing--
	rs.viewers--
	rs.mu.Unlock()
	rs.release(r)
}

// releaseParticipant drops a participant's hold on r.
func (rs *Rooms) releaseParticipant(r *Room) {
	rs.mu.Lock()
	r.participants--
	rs.mu.Unlock()
	rs.release(r)
}

// release drops one hold on r and removes the room when it was the last.
func (rs *Rooms) release(r *Room) {
	rs.mu.Lock()
	r.count--
	empty := r.count == 0
	if empty {
		delete(rs.rooms, r.id)
	}
	rs.mu.Unlock()
	if empty {
		r.ops.close()
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

// Len is the number of rooms.
func (rs *Rooms) Len() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.rooms)
}

// Close refuses further joins. Participants already in rooms stay until their owners
// call Leave.
func (rs *Rooms) Close() {
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
}
