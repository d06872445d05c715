package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// Room is a set of participants who receive each other's tracks.
//
// Membership (a roster.Members: identity replacement, join, leave and chat events)
// and the tracks each member publishes are owned by the room's operation queue:
// joins, leaves, publications and chat run there one at a time, so every member sees
// the room's events in the same order. Media never passes through the room.
type Room struct {
	id    RoomID
	rooms *Rooms
	log   *slog.Logger
	ops   *opQueue

	// Guarded by the registry's lock (its Hold and Release callbacks): how many
	// participants and viewers hold the room.
	participants, viewing int

	// Owned by the operation queue's goroutine.
	members roster.Members[ParticipantInfo, *member]
	viewers []*Viewer
}

// member is a participant in the room's member list, with the tracks it publishes.
type member struct {
	p      *Participant
	tracks []*Track
}

func (m *member) ID() ParticipantID     { return m.p.id }
func (m *member) Identity() string      { return m.p.identity }
func (m *member) Info() ParticipantInfo { return m.p.info(m.tracks) }

// ID names the room.
func (r *Room) ID() RoomID { return r.id }

// find is the member id, nil when there is none. It runs on the operation queue.
func (r *Room) find(id ParticipantID) *member {
	m, _ := r.members.Find(id)
	return m
}

func (r *Room) joinOp(p *Participant) {
	present, _ := r.members.Join(&member{p: p}, p.contact(), -1) // the limit is the registry's (admit)
	for m := range r.members.All() {
		for _, t := range m.tracks {
			p.sub.add(t)
		}
	}
	p.log.Info("participant joined", "name", p.name, "present", present)
	r.retarget()
	r.notify("participant-joined event", func(ev RoomEvents) { ev.ParticipantJoined(r.id, p.info(nil)) })
}

func (r *Room) leaveOp(p *Participant, quietly bool) {
	m := r.find(p.id)
	switch {
	case m == nil || m.p != p:
	case quietly:
		r.members.LeaveQuietly(m)
	default:
		r.members.Leave(m)
	}
}

// leftOp unpublishes the tracks of a member that has left or was removed, before
// the others are told it left (Members.Left).
func (r *Room) leftOp(gone *member) {
	for _, t := range gone.tracks {
		r.broadcastUnpublished(t)
	}
	r.retarget()
	info := gone.p.info(nil)
	for _, t := range gone.tracks {
		r.notify("track-unpublished event", func(ev RoomEvents) { ev.TrackUnpublished(r.id, info, t.Info()) })
	}
	r.notify("participant-left event", func(ev RoomEvents) { ev.ParticipantLeft(r.id, info) })
}

// publish adds t to p's tracks and subscribes everyone else to it.
func (r *Room) publish(p *Participant, t *Track) {
	r.ops.post(func() {
		m := r.find(p.id)
		if m == nil {
			return // p left while its track was starting
		}
		m.tracks = append(m.tracks, t)
		for o := range r.members.All() {
			if o != m {
				tellTracks(o.p, "track-published notice", func(obs TrackObserver) { obs.TrackPublished(t.Info()) })
				o.p.sub.add(t)
			}
		}
		r.retarget()
		r.notify("track-published event", func(ev RoomEvents) { ev.TrackPublished(r.id, p.info(nil), t.Info()) })
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
		r.notify("track-unpublished event", func(ev RoomEvents) { ev.TrackUnpublished(r.id, p.info(nil), t.Info()) })
	})
}

func (r *Room) broadcastUnpublished(t *Track) {
	for o := range r.members.All() {
		if o.p.id != t.info.Participant {
			o.p.sub.remove(t.info.ID)
			tellTracks(o.p, "track-unpublished notice", func(obs TrackObserver) { obs.TrackUnpublished(t.Info()) })
		}
	}
}

// tellTracks calls fn with p's track observer, if it has one, from a room operation
// that tells every member in turn. A panic there is in code serving p alone: it is
// logged, p is ended (ConnectionObserver.Failed), and the operation goes on with the
// other members.
func tellTracks(p *Participant, what string, fn func(TrackObserver)) {
	if p.obs.Tracks == nil {
		return
	}
	defer safe.Recover(p.log, what, p.obs.Connection.Failed)
	fn(p.obs.Tracks)
}

// Participants describes who is in the room now, with their tracks.
func (r *Room) Participants() []ParticipantInfo {
	var out []ParticipantInfo
	r.ops.do(func() { out = r.members.Infos() })
	return out
}

// Rooms is the in-memory set of rooms of one server. A room is created by its first
// join and removed when its last participant or viewer leaves. Safe for concurrent
// use.
type Rooms struct {
	engine   *Engine
	log      *slog.Logger
	registry *roster.Registry[*Room]
	events   RoomEvents // nil: nobody hears

	viewers int // of every room, held and not yet released; guarded by the registry's lock
}

// ErrShuttingDown is returned by Join once Close has been called.
var ErrShuttingDown = roster.ErrShuttingDown

// ClaimFunc claims a room name before a room is created with it, so that rooms of
// other kinds (mesh rooms) never share the name; release is called once the room is
// removed. It is called with the set's lock held and must return quickly, without
// calling back into the set.
type ClaimFunc = roster.Claim

// RoomsOptions change a set of rooms. The zero value is a set that shares its names
// with nothing.
type RoomsOptions struct {
	// Claim, when set, must succeed before a room is created; its error is Join's.
	Claim ClaimFunc
	// Events, when set, hears of every room's lifecycle, membership and tracks.
	Events RoomEvents
}

// NewRooms returns an empty set of rooms whose participants' connections are built by
// engine.
func NewRooms(engine *Engine) *Rooms {
	return NewRoomsWith(engine, RoomsOptions{})
}

// NewRoomsWith is NewRooms with options.
func NewRoomsWith(engine *Engine, opts RoomsOptions) *Rooms {
	rs := &Rooms{engine: engine, log: engine.log, events: opts.Events}
	rs.registry = roster.NewRegistry(roster.RegistryConfig[*Room]{
		MaxRooms: engine.limits.MaxRooms, Claim: opts.Claim, New: rs.newRoom,
		Removed: func(r *Room) {
			// Queued after the last participant's leave, so its event comes last.
			r.ops.post(func() { r.notify("room-finished event", func(ev RoomEvents) { ev.RoomFinished(r.id) }) })
			r.ops.close()
			r.log.Info("room closed")
		},
	})
	return rs
}

// newRoom makes the room id, with the registry's lock held.
func (rs *Rooms) newRoom(id RoomID) *Room {
	r := &Room{id: id, rooms: rs, log: rs.log.With("room", id)}
	r.members.Left = r.leftOp
	// A room operation that panics is dropped and logged; the room goes on.
	r.ops = newOpQueue(nil, r.log, nil)
	r.ops.post(func() { r.notify("room-started event", func(ev RoomEvents) { ev.RoomStarted(id) }) })
	r.log.Info("room created")
	return r
}

// Join adds a participant named name to the room id, creating the room if needed.
// obs receives the participant's events, starting with Joined. The caller owns the
// participant and must call its Leave.
func (rs *Rooms) Join(id RoomID, name string, obs Observers) (*Participant, error) {
	return rs.JoinWith(id, name, obs, JoinOptions{})
}

// errNoConnectionObserver refuses a join whose Observers lack the required one.
var errNoConnectionObserver = errors.New("sfu: Observers.Connection is required")

// JoinWith is Join with options.
func (rs *Rooms) JoinWith(id RoomID, name string, obs Observers, opts JoinOptions) (*Participant, error) {
	if obs.Connection == nil {
		return nil, errNoConnectionObserver
	}
	// The subscriber's connection only sends, unless it is the participant's only one.
	newConnection := rs.engine.newSubscriberConnection
	if opts.SingleConnection {
		newConnection = rs.engine.newPublisherConnection
	}
	subPC, err := newConnection()
	if err != nil {
		return nil, err
	}
	r, err := rs.holdParticipant(id)
	if err != nil {
		_ = closeConnection(rs.engine, subPC)
		return nil, err
	}

	pid := opts.ID
	if pid == "" {
		pid = roster.NewParticipantID()
	}
	p := &Participant{id: pid, left: opts.Left, identity: opts.Identity, name: name, grants: opts.Grants, transport: opts.Transport,
		room: r, obs: obs, log: r.log.With("participant", pid),
		first: firstMedia{joined: time.Now(), timings: rs.engine.timingsOrNil()}}
	if opts.Transport != "" {
		p.log = p.log.With("transport", opts.Transport)
	}
	p.log = p.log.With(opts.LogAttrs...)
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

// holdParticipant takes a participant's hold on the room id, creating it if needed,
// within the limits on rooms and participants.
func (rs *Rooms) holdParticipant(id RoomID) (*Room, error) {
	return rs.registry.Hold(id, true, func(r *Room) error {
		if err := r.admitsOneMoreLocked(); err != nil {
			return err
		}
		r.participants++
		return nil
	})
}

// admitsOneMoreLocked reports, with ErrRoomFull, whether r has no place left under
// Limits.MaxParticipants: its participants and its viewers each take one. The caller
// holds the registry's lock.
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
	return rs.registry.Hold(id, false, func(r *Room) error {
		if err := r.admitsOneMoreLocked(); err != nil {
			return err
		}
		if limit := rs.engine.limits.MaxViewers; exceeds(rs.viewers+1, limit) {
			return fmt.Errorf("%w (%d)", ErrTooManyViewers, limit)
		}
		r.viewing++
		rs.viewers++
		return nil
	})
}

// releaseViewer drops a viewer's hold on r.
func (rs *Rooms) releaseViewer(r *Room) {
	rs.registry.Release(r.id, func(r *Room) {
		r.viewing--
		rs.viewers--
	})
}

// releaseParticipant drops a participant's hold on r.
func (rs *Rooms) releaseParticipant(r *Room) {
	rs.registry.Release(r.id, func(r *Room) { r.participants-- })
}

// Room returns the room named id, or nil when nobody is in it.
func (rs *Rooms) Room(id RoomID) *Room {
	r, _ := rs.registry.Get(id)
	return r
}

// Len is the number of rooms.
func (rs *Rooms) Len() int { return rs.registry.Len() }

// Close refuses further joins. Participants already in rooms stay until their owners
// call Leave.
func (rs *Rooms) Close() { rs.registry.Close() }
