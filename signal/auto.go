package signal

import (
	"errors"
	"fmt"

	"github.com/switchboard-rtc/switchboard/auto"
	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Auto rooms (package auto): the session takes a seat in the room and joins the side
// of its mode now, an SFU or a mesh room under the seat's id. When the room
// switches, it joins the new side as well (the client gets switch) and, when the
// switch is over, leaves the old one quietly (the client gets switched). Between
// the two it is in both rooms: participant and member are both set.

// AutoRooms is what a session needs to put its client in an auto room: *auto.Rooms.
type AutoRooms interface {
	Join(room roster.RoomID, opts auto.JoinOptions) (*auto.Seat, error)
	Exists(room roster.RoomID) bool
}

// maxActions bounds the actions queued for a session by its auto room: one switch
// brings two, and a switch back waits for the one before to complete.
const maxActions = 16

// post queues fn to run on the session's loop; a full queue ends the session.
func (s *Session) post(fn func()) {
	select {
	case s.actions <- fn:
	default:
		s.End(ErrSlowConsumer)
	}
}

// isAuto reports whether room is an auto room that exists now.
func (c *Config) isAuto(room string) bool {
	return c.Auto != nil && c.Auto.Exists(roster.RoomID(room))
}

func (s *Session) joinAuto(id, room, name string) error {
	configured := s.cfg.DefaultMode != nil && s.cfg.DefaultMode(room) == directory.Auto
	seat, err := s.cfg.Auto.Join(roster.RoomID(room), auto.JoinOptions{Identity: s.access.Identity, Name: name, Transport: s.transport,
		MustExist: s.access.NoNewAutoRooms && !configured, Observer: autoObserver{s}})
	if errors.Is(err, auto.ErrNoRoom) {
		return protocolError(wire.CodeForbidden, "creating an auto room needs a join token with \"mode\": \"auto\" or \"mesh\"; room "+
			quote(room)+" does not exist")
	}
	if err != nil {
		return err
	}
	s.seat, s.name = seat, name
	if err := s.joinSide(seat.Mode(), 0, id); err != nil {
		seat.Leave()
		s.seat = nil
		return err
	}
	return nil
}

// joinSide joins the side of the seat's room in mode: for the join request re when
// epoch is 0, else for switch epoch.
func (s *Session) joinSide(mode directory.Mode, epoch int, re string) error {
	room := string(s.seat.RoomID())
	s.side = mode
	if mode == directory.Mesh {
		opts := s.access.meshOptions(true) // the seat exists: nothing to create
		opts.Transport = s.transport
		if s.transport != "" {
			opts.LogAttrs = append(opts.LogAttrs, "transport", s.transport)
		}
		opts.LogAttrs = append(opts.LogAttrs, s.logAttrs...)
		m, err := s.seat.JoinMesh(s.name, &meshObserver{s: s, joinRe: re, room: room, auto: true, epoch: epoch}, opts)
		if err != nil {
			return err
		}
		s.member = m
		return nil
	}
	s.obs = &observer{s: s, joinRe: re, room: room, auto: true, epoch: epoch}
	opts := s.access.joinOptions()
	opts.Transport, opts.LogAttrs = s.transport, s.logAttrs
	p, err := s.seat.JoinSFU(s.name, s.obs.observers(), opts)
	if err != nil {
		return err
	}
	s.participant = p
	return nil
}

// switchTo follows the room's switch epoch to mode: the session joins the new side.
// It runs on the session's loop.
func (s *Session) switchTo(mode directory.Mode, epoch int) {
	if s.seat == nil {
		return
	}
	err := s.joinSide(mode, epoch, "")
	switch {
	case err == nil:
	case errors.Is(err, auto.ErrLeft):
		// replaced meanwhile: the session is ending
	default:
		s.scopedLog().Warn("cannot join the new side of an auto room", "mode", mode, "epoch", epoch, "err", err)
		s.sendError("", err)
		s.End(fmt.Errorf("auto room switch: %w", err))
	}
}

// switchedTo ends the room's switch epoch to mode for the session: it leaves the old
// side quietly, and tells the client. It runs on the session's loop.
func (s *Session) switchedTo(mode directory.Mode, epoch int) {
	if s.seat == nil {
		return
	}
	switch {
	case mode == directory.SFU && s.member != nil:
		s.member.LeaveQuietly()
		s.member = nil
	case mode == directory.Mesh && s.participant != nil:
		s.participant.LeaveQuietly()
		s.participant = nil
	}
	s.send(wire.TypeSwitched, "", wire.Switched{Mode: string(mode), Epoch: epoch})
}

// switched handles the client's switched: it has the new side's media playing.
func (s *Session) switched(_ string, frame []byte) error {
	if s.seat == nil {
		return protocolError(wire.CodeWrongMode, "switched is for auto rooms")
	}
	var req wire.Switched
	if err := decode(frame, &req); err != nil {
		return err
	}
	// A switched for a switch that is over (the timeout passed) or unknown changes
	// nothing, and needs no answer: the client learns the state from switched.
	s.seat.Switched(req.Epoch)
	return nil
}

// autoObserver hears of the session's auto room and queues what it says on the
// session's loop.
type autoObserver struct{ s *Session }

var _ auto.Observer = autoObserver{}

func (o autoObserver) Switch(mode auto.Mode, epoch int) {
	o.s.post(func() { o.s.switchTo(mode, epoch) })
}

func (o autoObserver) Switched(mode auto.Mode, epoch int) {
	o.s.post(func() { o.s.switchedTo(mode, epoch) })
}

// Replaced tells the client, as a replacement in an SFU or mesh room does, and ends
// the session.
func (o autoObserver) Replaced() {
	o.s.sendError("", roster.ErrReplaced)
	o.s.End(fmt.Errorf("%w: %w", ErrRemoved, roster.ErrReplaced))
}
