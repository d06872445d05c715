package sfu

import (
	"errors"
	"fmt"

	"github.com/switchboard-rtc/switchboard/roster"
)

// Errors returned for a client's bad input. Callers map them to protocol errors with
// errors.Is; the wrapped text says what was wrong.
var (
	// ErrInvalidSDP: an offer or answer that cannot be parsed or applied.
	ErrInvalidSDP = errors.New("invalid SDP")
	// ErrInvalidCandidate: an ICE candidate that cannot be applied.
	ErrInvalidCandidate = errors.New("invalid ICE candidate")
	// ErrNoOffer: an answer while no subscriber offer is outstanding.
	ErrNoOffer = errors.New("no subscriber offer is outstanding")
	// ErrClosed: the participant has left.
	ErrClosed = errors.New("participant has left")
	// ErrForbidden: the participant's grants do not allow what it asked (publishing,
	// or publishing that source).
	ErrForbidden = errors.New("not allowed")
	// ErrNoTrack: no track with that id is published in the room.
	ErrNoTrack = errors.New("sfu: no such track in the room")
	// ErrRoomFull: the room has Limits.MaxParticipants participants already.
	ErrRoomFull = roster.ErrRoomFull
	// ErrTooManyRooms: the server has Limits.MaxRooms rooms already, and a join would
	// make another.
	ErrTooManyRooms = roster.ErrTooManyRooms
	// ErrTooManyTracks: an offer would publish more than Limits.MaxTracks tracks.
	ErrTooManyTracks = errors.New("too many tracks")
	// ErrUnknownMid: an offer's sources name a mid that is not one of its m-lines.
	ErrUnknownMid = errors.New("unknown mid")
	// ErrBadView is returned for a track view whose size is negative or larger than
	// 16384 device pixels.
	ErrBadView = errors.New("track view: width and height must be 0 to 16384")
)

// Reasons given to RoomObserver.Removed: why the server took a participant out of
// its room. They are the membership core's, shared with mesh rooms.
var (
	// ErrReplaced: another participant joined the room with the same identity.
	ErrReplaced = roster.ErrReplaced
	// ErrRemoved: an administrator removed the participant.
	ErrRemoved = roster.ErrRemoved
	// ErrRoomClosed: an administrator closed the room.
	ErrRoomClosed = roster.ErrRoomClosed
)

var (
	errTooManyCandidates = errors.New("too many candidates before the description")
	errCandidateLimit    = fmt.Errorf("too many candidates: at most %d in one ICE session", maxCandidates)
)

func wrapCandidateError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidCandidate, err)
}

func wrapSDPError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidSDP, err)
}
