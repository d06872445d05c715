package auto

import (
	"errors"
	"time"

	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// Media is the one seam through which clients that can only use the SFU (WHIP,
// WHEP, sfu-ws) reach rooms: an auto room (one that exists, or that configuration
// makes one) gets them on its SFU side, promoting it at once when it is mesh and
// kept from demoting while they are in; any other room is Plain's.
type Media struct {
	Auto  *Rooms
	Plain SFURooms
}

// isAuto reports whether room is an auto room, and whether configuration makes it
// one.
func (m Media) isAuto(room sfu.RoomID) (auto, configured bool) {
	if m.Auto == nil {
		return false, false
	}
	configured = m.Auto.cfg.Configured != nil && m.Auto.cfg.Configured(string(room))
	return configured || m.Auto.Exists(room), configured
}

// seat takes a fixed seat in room when it is an auto room; nil when it is not.
// who describes the participant (its identity, name and transport); viewer: it is
// a WHEP viewer.
func (m Media) seat(room sfu.RoomID, who Participant, viewer bool) (*Seat, error) {
	auto, configured := m.isAuto(room)
	if !auto {
		return nil, nil
	}
	s, err := m.Auto.Join(room, JoinOptions{Identity: who.Identity, Name: who.Name, Transport: who.Transport, Fixed: true,
		MustExist: !configured, Viewer: viewer})
	if errors.Is(err, roster.ErrNoRoom) {
		return nil, nil // the auto room has just gone: the name is anyone's again
	}
	return s, err
}

// JoinWith joins a participant that can only use the SFU (WHIP, sfu-ws).
func (m Media) JoinWith(room sfu.RoomID, name string, obs sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error) {
	s, err := m.seat(room, Participant{Identity: opts.Identity, Name: name, Transport: opts.Transport}, false)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return m.Plain.JoinWith(room, name, obs, opts)
	}
	left := opts.Left
	opts.Left = func() {
		s.Leave()
		if left != nil {
			left()
		}
	}
	p, err := s.JoinSFU(name, obs, opts)
	if err != nil {
		s.Leave()
	}
	return p, err
}

// Watch adds a WHEP viewer. In an auto room that was mesh it waits, up to the switch
// timeout, for the promotion it starts to complete: a viewer joins an SFU side that
// its participants have joined.
func (m Media) Watch(room sfu.RoomID, want sfu.ParticipantID, ended func()) (*sfu.Viewer, error) {
	s, err := m.seat(room, Participant{}, true)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return m.Plain.Watch(room, want, ended)
	}
	t := time.NewTimer(m.Auto.cfg.SwitchTimeout)
	select {
	case <-s.room.settledChan():
	case <-t.C:
	}
	t.Stop()
	v, err := m.Auto.cfg.SFU.Watch(room, want, ended)
	if err != nil {
		s.Leave()
		return nil, err
	}
	v.AtClose(s.Leave)
	return v, nil
}
