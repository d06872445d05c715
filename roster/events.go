package roster

// Events hears of the lifecycle and membership of every room of one kind, for
// notices to the world outside the rooms (webhooks); I is how the room kind
// describes a member. Every method must return quickly and never block:
// implementations queue the event and return.
//
// The calls for one room come in the room's order: RoomStarted first, then joins
// and leaves as the room's members see them, RoomFinished last, after every
// member's leave. A room created again under the name of one being removed is
// created once the removal is done (Registry.Hold), so the old room's RoomFinished
// comes first when the room kind reports it from Removed.
type Events[I any] interface {
	RoomStarted(RoomID)
	RoomFinished(RoomID)
	ParticipantJoined(RoomID, I)
	ParticipantLeft(RoomID, I)
}
