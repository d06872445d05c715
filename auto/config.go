package auto

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// Defaults of Config, and of the server's flags that set it.
const (
	// DefaultPromoteAt: a mesh call of four sends every stream three times from
	// each peer; a fourth participant moves it to the SFU.
	DefaultPromoteAt = 4
	// DefaultDemoteAt: back at two, peer to peer costs each peer no more than the
	// SFU does.
	DefaultDemoteAt = 2
	// DefaultDemoteAfter: a room is not demoted the moment somebody steps out, only
	// once it has been small for this long.
	DefaultDemoteAfter = 30 * time.Second
	// DefaultSwitchTimeout bounds how long a switch waits for its slowest client.
	DefaultSwitchTimeout = 15 * time.Second
)

// SFURooms is what auto rooms need of the SFU rooms that carry their SFU side: a set
// of their own (*sfu.Rooms), whose names nothing else uses.
type SFURooms interface {
	JoinWith(room sfu.RoomID, name string, obs sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error)
	Watch(room sfu.RoomID, want sfu.ParticipantID, ended func()) (*sfu.Viewer, error)
	Len() int
}

// MeshRooms is what auto rooms need of the mesh rooms that carry their mesh side: a
// set of their own (*mesh.Rooms).
type MeshRooms interface {
	JoinWith(room mesh.RoomID, name string, obs mesh.Observer, opts mesh.JoinOptions) (*mesh.Member, error)
	Len() int
}

// Config configures a set of auto rooms. The zero value of each duration and count
// is its default.
type Config struct {
	// PromoteAt [DefaultPromoteAt]: a mesh room switches to SFU when it has this
	// many participants. At least 2.
	PromoteAt int
	// DemoteAt [DefaultDemoteAt]: an SFU room switches back to mesh once it has had
	// at most this many native participants, and no fixed one, for DemoteAfter
	// [DefaultDemoteAfter]. Less than PromoteAt.
	DemoteAt    int
	DemoteAfter time.Duration
	// SwitchTimeout [DefaultSwitchTimeout] ends a switch whose barrier some seat
	// has not passed.
	SwitchTimeout time.Duration
	// Claim, when set, must succeed before a room is created (a name held in mode
	// roster.Auto); its error is Join's.
	Claim roster.Claim
	// Configured reports whether configuration makes room an auto room: a fixed
	// client (Media) creates it as one. Nil: none is.
	Configured func(room string) bool
	// SFU and Mesh carry the rooms' two sides. Required for joining sides; the
	// state machine alone needs neither.
	SFU  SFURooms
	Mesh MeshRooms
	// Events, when set, hears of the rooms' lifecycle and seats.
	Events Events
	// Logger receives room logs; nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults is c with its zero values replaced, or why c is not usable.
func (c Config) withDefaults() (Config, error) {
	if c.PromoteAt == 0 {
		c.PromoteAt = DefaultPromoteAt
	}
	if c.DemoteAt == 0 {
		c.DemoteAt = DefaultDemoteAt
	}
	if c.DemoteAfter == 0 {
		c.DemoteAfter = DefaultDemoteAfter
	}
	if c.SwitchTimeout == 0 {
		c.SwitchTimeout = DefaultSwitchTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.PromoteAt < 2:
		return c, fmt.Errorf("%w: promote at %d: at least 2", ErrConfig, c.PromoteAt)
	case c.DemoteAt < 0 || c.DemoteAt >= c.PromoteAt:
		return c, fmt.Errorf("%w: demote at %d: from 0 to less than promote at (%d)", ErrConfig, c.DemoteAt, c.PromoteAt)
	case c.DemoteAfter < 0 || c.SwitchTimeout < 0:
		return c, fmt.Errorf("%w: negative duration", ErrConfig)
	}
	return c, nil
}

// Errors of New and Join.
var (
	// ErrConfig: a Config that cannot work.
	ErrConfig = errors.New("auto: bad configuration")
	// ErrNoRoom: a join with MustExist of a room that does not exist.
	ErrNoRoom = roster.ErrNoRoom
	// ErrLeft: a seat that has left, or was replaced, joins no side.
	ErrLeft = errors.New("auto: the seat has left the room")
)
