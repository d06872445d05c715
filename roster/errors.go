package roster

import "errors"

// Errors of Registry.Hold and Members.Join, shared by both kinds of room.
var (
	// ErrShuttingDown: the registry has been closed.
	ErrShuttingDown = errors.New("server is shutting down")
	// ErrNoRoom: a hold that may not create the room, of a room nobody is in.
	ErrNoRoom = errors.New("no such room")
	// ErrTooManyRooms: the registry holds its maximum of rooms, and a hold would
	// create another.
	ErrTooManyRooms = errors.New("the server has as many rooms as it may")
	// ErrRoomFull: the room has as many members as it may.
	ErrRoomFull = errors.New("the room is full")
)

// Reasons given to Observer.Removed: why the server took a member out of its room.
var (
	// ErrReplaced: another member joined the room with the same identity.
	ErrReplaced = errors.New("another connection joined the room with the same identity")
	// ErrRemoved: an administrator removed the member.
	ErrRemoved = errors.New("removed from the room by an administrator")
	// ErrRoomClosed: an administrator closed the room.
	ErrRoomClosed = errors.New("the room was closed by an administrator")
	// ErrMoved: the room lives on another node of a cluster now (two nodes made it
	// while they could not reach Redis); joining again through any node gets there.
	ErrMoved = errors.New("the room moved to another node of the cluster: join again")
)
