package server

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/switchboard-rtc/switchboard/auto"
	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/webhook"
)

// autoRooms are the server's auto rooms: the state machine (package auto) and the
// SFU and mesh rooms of their two sides, sets of their own so that no plain SFU or
// mesh join reaches them. The auto room holds its name in the directory (mode
// auto); its sides claim nothing.
type autoRooms struct {
	rooms *auto.Rooms
	sfu   *sfu.Rooms
	mesh  *mesh.Rooms
}

func newAutoRooms(cfg Config, engine *sfu.Engine, dir directory.Directory, events auto.Events, log *slog.Logger) (*autoRooms, error) {
	a := &autoRooms{sfu: sfu.NewRooms(engine)}
	// A mesh side holds whoever the room has while it is mesh: the room switches
	// at PromoteAt, but joins during a demotion go to the mesh side at once.
	a.mesh = mesh.NewRooms(mesh.Config{MaxSize: meshSideSize(cfg.Limits.MaxParticipants), Logger: log})
	ac := cfg.AutoRooms
	rooms, err := auto.New(auto.Config{PromoteAt: ac.PromoteAt, DemoteAt: ac.DemoteAt, DemoteAfter: ac.DemoteAfter,
		SwitchTimeout: ac.SwitchTimeout, SFU: a.sfu, Mesh: a.mesh, Events: events, Logger: log,
		Claim: func(id roster.RoomID) (func(), error) {
			release, err := dir.Claim(string(id), directory.Auto)
			if errors.Is(err, directory.ErrTooManyRooms) {
				err = tooManyRooms{err}
			}
			return release, err
		},
		Configured: func(room string) bool { return dir.DefaultMode(room) == directory.Auto },
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	a.rooms = rooms
	return a, nil
}

// meshSideSize bounds the mesh side of an auto room as Limits.MaxParticipants
// (n) bounds its SFU side.
func meshSideSize(n int) int {
	switch {
	case n == 0:
		return sfu.DefaultMaxParticipants
	case n < 0:
		return 1 << 30 // no limit
	}
	return n
}

// media is the one seam of clients that can only use the SFU (WHIP, WHEP, sfu-ws):
// auto rooms through the auto core, others in plain.
func (a *autoRooms) media(plain auto.SFURooms) auto.Media {
	return auto.Media{Auto: a.rooms, Plain: plain}
}

// autoEvents turns the auto rooms' events into webhooks (room kind "auto"): the
// room and its participants as a whole, not its sides.
type autoEvents struct{ send *webhook.Sender }

func (e autoEvents) event(t webhook.Type, room roster.RoomID) webhook.Event {
	return webhook.NewEvent(t, webhook.Room{Name: string(room), Kind: string(roster.Auto)})
}

func (e autoEvents) RoomStarted(room roster.RoomID) { e.send.Send(e.event(webhook.RoomStarted, room)) }
func (e autoEvents) RoomFinished(room roster.RoomID) {
	e.send.Send(e.event(webhook.RoomFinished, room))
}
func (e autoEvents) ParticipantJoined(room roster.RoomID, p auto.Participant) {
	e.participant(webhook.ParticipantJoined, room, p)
}
func (e autoEvents) ParticipantLeft(room roster.RoomID, p auto.Participant) {
	e.participant(webhook.ParticipantLeft, room, p)
}

func (e autoEvents) participant(t webhook.Type, room roster.RoomID, p auto.Participant) {
	ev := e.event(t, room)
	ev.Participant = hookParticipant(string(p.ID), p.Identity, p.Name, p.Transport)
	e.send.Send(ev)
}

// close refuses further joins.
func (a *autoRooms) close() {
	a.rooms.Close()
	a.sfu.Close()
	a.mesh.Close()
}
