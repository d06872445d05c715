package wire

// Error codes of TypeError messages; docs/protocol.md lists them. They are stable:
// clients act on them.
const (
	CodeBadJSON          = "bad-json"
	CodeUnknownType      = "unknown-type"
	CodeBadRequest       = "bad-request"
	CodeNotJoined        = "not-joined"
	CodeAlreadyJoined    = "already-joined"
	CodeInvalidSDP       = "invalid-sdp"
	CodeInvalidCandidate = "invalid-candidate"
	CodeNoOffer          = "no-offer"
	CodeForbidden        = "forbidden"
	CodeReplaced         = "replaced"
	CodeRemoved          = "removed"
	CodeRoomClosed       = "room-closed"
	CodeInternal         = "internal"
	CodeRateLimited      = "rate-limited"
	CodeRoomFull         = "room-full"
	CodeTooManyRooms     = "too-many-rooms"
	CodeTooManyTracks    = "too-many-tracks"
	// CodeModeMismatch: a join for a room that exists, or is configured, in the
	// other mode.
	CodeModeMismatch = "mode-mismatch"
	// CodeWrongMode: a message for the other mode of room (publish-offer in a mesh
	// room, relay in an SFU room).
	CodeWrongMode = "wrong-mode"
	// CodeUnknownPeer: a relay to no other peer of the room.
	CodeUnknownPeer = "unknown-peer"
	// CodeFlood: a relay over the client's rate; the session ends if it keeps on.
	CodeFlood = "flood"
	// CodeJoinTimeout: the session did not join a room within the server's join
	// deadline and is closed.
	CodeJoinTimeout = "join-timeout"
	// CodeDraining: a join refused because the server is shutting down; join again
	// later, or on another server.
	CodeDraining = "draining"
	// CodeMoved: the room moved to another node of a cluster; the session is
	// closed, and joining again (through the same URL) lands in the moved room.
	CodeMoved = "moved"
)
