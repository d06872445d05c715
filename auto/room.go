package auto

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// Room is one auto room: its seats, its mode, and the switch it runs, if any.
type Room struct {
	id    roster.RoomID
	rooms *Rooms
	log   *slog.Logger

	mu    sync.Mutex
	seats []*Seat // in join order
	fixed int     // seats that cannot do mesh
	mode  Mode    // the mode now; during a switch, the new one
	epoch int     // switches so far; the running one's number
	// switching: a switch to mode is running. moving are the seats told of it
	// (Observer.Switch) and still in the room; waiting, those of them whose
	// Switched is awaited.
	switching bool
	moving    []*Seat
	waiting   map[*Seat]bool
	settled   chan struct{} // closed when the running switch completes
	timeout   *time.Timer   // ends the running switch
	demote    *time.Timer   // demotes the room, when it is small and SFU
	demoteGen int           // counts demote timers: a stale one's call is ignored
	stopped   bool          // the room is gone: no timer starts again
}

// ID names the room.
func (r *Room) ID() roster.RoomID { return r.id }

// State is a room's state, for tests and the admin API.
type State struct {
	Mode      Mode
	Epoch     int
	Switching bool
	Seats     int
	Fixed     int
	// Waiting is how many seats the running switch waits for.
	Waiting int
	// Demoting: the room is small, and will be demoted unless it grows first.
	Demoting bool
}

// State reports the room's state now.
func (r *Room) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return State{Mode: r.mode, Epoch: r.epoch, Switching: r.switching, Seats: len(r.seats), Fixed: r.fixed,
		Waiting: len(r.waiting), Demoting: r.demote != nil}
}

// add seats s: a seat of the same identity is replaced; s gets the room's mode now
// (a fixed seat in a new room makes it SFU), and the room decides whether to switch,
// s joining the new mode at once.
func (r *Room) add(s *Seat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.identity != "" {
		if i := slices.IndexFunc(r.seats, func(o *Seat) bool { return o.identity == s.identity }); i >= 0 {
			old := r.seats[i]
			r.dropLocked(old)
			r.log.Info("seat replaced by a new one with its identity", "participant", old.id, "identity", s.identity)
			tell(r.log, old, "replaced", func(o Observer) { o.Replaced() })
			r.told(old, false)
		}
	}
	if len(r.seats) == 0 && r.epoch == 0 && s.fixed {
		r.mode = roster.SFU // created for a client that cannot do mesh: no switch to make
	}
	r.seats = append(r.seats, s)
	if s.fixed {
		r.fixed++
	}
	r.told(s, true)
	r.decideLocked(s)
	s.mode = r.mode
	if s.fixed {
		s.mode = roster.SFU // even during a demotion: its side is the SFU one
	}
	r.log.Info("seat taken", "participant", s.id, "fixed", s.fixed, "seats", len(r.seats), "room_mode", r.mode)
}

// remove takes s out of the room: a switch waits for it no more, and the room
// decides again.
func (r *Room) remove(s *Seat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.gone {
		return
	}
	r.dropLocked(s)
	r.log.Info("seat left", "participant", s.id, "seats", len(r.seats))
	r.told(s, false)
	if r.switching && len(r.waiting) == 0 {
		r.completeLocked()
		return
	}
	r.decideLocked(nil)
}

// told tells Events that s joined, or left; nothing of a viewer's seat.
func (r *Room) told(s *Seat, joined bool) {
	switch {
	case s.viewer:
	case joined:
		r.rooms.notify(r.log, "participant-joined event", func(ev Events) { ev.ParticipantJoined(r.id, s.info()) })
	default:
		r.rooms.notify(r.log, "participant-left event", func(ev Events) { ev.ParticipantLeft(r.id, s.info()) })
	}
}

// dropLocked takes s out of every list. The caller holds r.mu.
func (r *Room) dropLocked(s *Seat) {
	s.gone = true
	r.seats = slices.DeleteFunc(r.seats, func(o *Seat) bool { return o == s })
	if s.fixed {
		r.fixed--
	}
	r.moving = slices.DeleteFunc(r.moving, func(o *Seat) bool { return o == s })
	delete(r.waiting, s)
}

// natives is how many seats can do mesh. The caller holds r.mu.
func (r *Room) nativesLocked() int { return len(r.seats) - r.fixed }

// decideLocked starts the switch the room's seats call for, unless one runs; joiner,
// when set, is a seat that has just joined and goes to the new mode at once. It arms
// or disarms the demotion delay. The caller holds r.mu.
func (r *Room) decideLocked(joiner *Seat) {
	if r.switching || r.stopped {
		return
	}
	cfg := &r.rooms.cfg
	switch r.mode {
	case roster.Mesh:
		r.stopDemoteLocked()
		if len(r.seats) >= cfg.PromoteAt || r.fixed > 0 {
			r.startLocked(roster.SFU, joiner)
		}
	case roster.SFU:
		small := r.fixed == 0 && r.nativesLocked() <= cfg.DemoteAt && len(r.seats) > 0
		switch {
		case !small:
			r.stopDemoteLocked()
		case r.demote == nil:
			r.demoteGen++
			gen := r.demoteGen
			r.demote = time.AfterFunc(cfg.DemoteAfter, func() { r.demoteDue(gen) })
			r.log.Debug("room is small: demotion armed", "after", cfg.DemoteAfter)
		}
	}
}

func (r *Room) stopDemoteLocked() {
	if r.demote != nil {
		r.demote.Stop()
		r.demote = nil
	}
}

// demoteDue demotes the room when gen is still its demotion timer's and the room is
// still small.
func (r *Room) demoteDue(gen int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.demote == nil || r.demoteGen != gen {
		return // stopped, or replaced by a newer one
	}
	r.demote = nil
	cfg := &r.rooms.cfg
	if !r.switching && !r.stopped && r.mode == roster.SFU && r.fixed == 0 && r.nativesLocked() <= cfg.DemoteAt {
		r.startLocked(roster.Mesh, nil)
	}
}

// startLocked starts switch number epoch+1 to mode: every seat but joiner is told to
// join the new side, and the room waits for each to report it has. The caller holds
// r.mu.
func (r *Room) startLocked(mode Mode, joiner *Seat) {
	r.stopDemoteLocked()
	r.epoch++
	r.mode, r.switching = mode, true
	r.moving, r.waiting, r.settled = nil, map[*Seat]bool{}, make(chan struct{})
	for _, s := range r.seats {
		if s == joiner || s.fixed {
			continue // a fixed seat is on the SFU side, whatever the mode
		}
		s.mode = mode
		r.moving = append(r.moving, s)
		r.waiting[s] = true
	}
	r.log.Info("switch started", "to", mode, "epoch", r.epoch, "seats", len(r.seats), "moving", len(r.moving))
	epoch := r.epoch
	for _, s := range slices.Clone(r.moving) {
		tell(r.log, s, "switch", func(o Observer) { o.Switch(mode, epoch) })
	}
	if len(r.waiting) == 0 {
		r.completeLocked()
		return
	}
	r.timeout = time.AfterFunc(r.rooms.cfg.SwitchTimeout, func() { r.timedOut(epoch) })
}

// switched passes s through the barrier of switch epoch.
func (r *Room) switched(s *Seat, epoch int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.switching || epoch != r.epoch || !r.waiting[s] {
		return false
	}
	delete(r.waiting, s)
	if len(r.waiting) == 0 {
		r.completeLocked()
	}
	return true
}

// timedOut ends switch epoch if it still runs: its laggards are waited for no more.
func (r *Room) timedOut(epoch int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.switching || r.epoch != epoch {
		return
	}
	r.log.Info("switch timed out", "epoch", epoch, "waiting", len(r.waiting))
	r.completeLocked()
}

// completeLocked ends the running switch: the seats that moved drop their old side,
// and the room decides again. The caller holds r.mu.
func (r *Room) completeLocked() {
	if r.timeout != nil {
		r.timeout.Stop()
		r.timeout = nil
	}
	mode, epoch, moved := r.mode, r.epoch, r.moving
	r.switching, r.moving, r.waiting = false, nil, nil
	close(r.settled)
	r.log.Info("switch completed", "to", mode, "epoch", epoch)
	for _, s := range moved {
		tell(r.log, s, "switched", func(o Observer) { o.Switched(mode, epoch) })
	}
	r.decideLocked(nil)
}

// settledChan is closed once no switch runs: at once when none does.
func (r *Room) settledChan() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.switching {
		return closedChan
	}
	return r.settled
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// stop ends the room's timers for good: it has been removed.
func (r *Room) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.stopDemoteLocked()
	if r.timeout != nil {
		r.timeout.Stop()
		r.timeout = nil
	}
	r.log.Info("room closed")
}

// tell calls fn with s's observer, if it has one. A panic there is in code serving
// s alone: it is logged and counted, and the room goes on with the others.
func tell(log *slog.Logger, s *Seat, what string, fn func(Observer)) {
	if s.obs == nil {
		return
	}
	defer safe.Recover(log.With("participant", s.id), "auto room "+what+" notice", nil)
	fn(s.obs)
}
