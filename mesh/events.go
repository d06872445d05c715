package mesh

import (
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// Events hears of every room's lifecycle and membership, for notices outside the
// rooms (webhooks). Joins and leaves are called with the room's lock held, and
// RoomStarted with the set's: implementations queue the event and return.
type Events = roster.Events[PeerInfo]

// notify calls fn with the set's Events, if any; a panic there is logged and
// counted, and the caller goes on.
func (r *Room) notify(what string, fn func(Events)) {
	if r.events == nil {
		return
	}
	defer safe.Recover(r.log, what, nil)
	fn(r.events)
}
