package sfu

import (
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// RoomEvents hears of what happens in every room of a set, for notices outside the
// rooms (webhooks): rooms starting and finishing, participants joining and leaving,
// and tracks published and unpublished. The participant of a track event is
// described without its tracks. Calls for one room come from its operation queue,
// in the order the room's members see them (roster.Events); every method must
// return quickly and never block: implementations queue the event and return. The
// media path never calls it.
type RoomEvents interface {
	roster.Events[ParticipantInfo]
	TrackPublished(RoomID, ParticipantInfo, TrackInfo)
	TrackUnpublished(RoomID, ParticipantInfo, TrackInfo)
}

// notify calls fn with the set's RoomEvents, if it has one. It runs on the room's
// operation queue; a panic there is logged and counted, and the operation goes on.
func (r *Room) notify(what string, fn func(RoomEvents)) {
	ev := r.rooms.events
	if ev == nil {
		return
	}
	defer safe.Recover(r.log, what, nil)
	fn(ev)
}
