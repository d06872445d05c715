package roster

// Events hears of the lifecycle and membership of every room of one kind, for
// notices to the world outside the rooms (webhooks); I is how the room kind
// describes a member. Every method must return quickly and never block:
// implementations queue the event and return.
//
// The calls for one room come in the room's order: RoomStarted first, then joins
// and leaves as the room's members see them, RoomFinished last, after every
// member's leave. A room removed and created again under the same name at the same
// moment may report the new room's RoomStarted before the old one's RoomFinished.
type Events[I any] interface {
	RoomStarted(RoomID)
	RoomFinished(RoomID)
	ParticipantJoined(RoomID, I)
	ParticipantLeft(RoomID, I)
}
