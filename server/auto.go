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

func newAutoRooms(cfg Config, engine *sfu.Engine, dir directory.Directory, log *slog.Logger) (*autoRooms, error) {
	a := &autoRooms{sfu: sfu.NewRooms(engine)}
	// A mesh side holds whoever the room has while it is mesh: the room switches
	// at PromoteAt, but joins during a demotion go to the mesh side at once.
	a.mesh = mesh.NewRooms(mesh.Config{MaxSize: meshSideSize(cfg.Limits.MaxParticipants), Logger: log})
	ac := cfg.AutoRooms
	rooms, err := auto.New(auto.Config{PromoteAt: ac.PromoteAt, DemoteAt: ac.DemoteAt, DemoteAfter: ac.DemoteAfter,
		SwitchTimeout: ac.SwitchTimeout, SFU: a.sfu, Mesh: a.mesh, Logger: log,
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

// close refuses further joins.
func (a *autoRooms) close() {
	a.rooms.Close()
	a.sfu.Close()
	a.mesh.Close()
}
