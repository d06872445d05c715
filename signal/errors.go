package signal

import (
	"errors"

	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// ProtocolError is a client's mistake, reported to it with a code (a wire.Code
// constant); the session goes on.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

func protocolError(code, msg string) *ProtocolError { return &ProtocolError{Code: code, Message: msg} }

// Reasons a session ends; Run returns one of them (or the context's error).
var (
	// ErrLeft: the client sent leave.
	ErrLeft = errors.New("left")
	// ErrIdle: nothing was received for the idle timeout.
	ErrIdle = errors.New("timeout: nothing received")
	// ErrSlowConsumer: the client did not read fast enough and its queue overflowed.
	ErrSlowConsumer = errors.New("slow consumer")
	// ErrConnectionFailed: a media connection failed for good.
	ErrConnectionFailed = errors.New("media connection failed")
	// ErrRemoved: the server took the participant out of its room; it wraps the
	// room's reason (sfu.ErrReplaced, sfu.ErrRemoved, sfu.ErrRoomClosed, or the same
	// of package mesh).
	ErrRemoved = errors.New("removed")
	// ErrRateLimited: the client went on sending far over its message rate.
	ErrRateLimited = errors.New("rate limited: too many messages")
	// ErrFlood: the client kept relaying far over its rate.
	ErrFlood = errors.New("flood: too many relays")
	// ErrJoinTimeout: the client did not join a room within Config.JoinTimeout.
	ErrJoinTimeout = errors.New("join timeout: no room joined")
	// ErrInternal: code serving the client panicked (a message handler, a callback of
	// its media connection); the client gets an internal error and only its session
	// ends. Where and why are in the server's log, not in the error.
	ErrInternal = errors.New("internal error")
)

// toWire maps an error from a request handler to the code and message sent to the
// client. Errors the client did not cause are reported as internal, without detail.
func toWire(err error) (code, msg string) {
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		return pe.Code, pe.Message
	case errors.Is(err, sfu.ErrInvalidSDP):
		return wire.CodeInvalidSDP, err.Error()
	case errors.Is(err, sfu.ErrInvalidCandidate):
		return wire.CodeInvalidCandidate, err.Error()
	case errors.Is(err, sfu.ErrNoOffer):
		return wire.CodeNoOffer, err.Error()
	case errors.Is(err, sfu.ErrForbidden):
		return wire.CodeForbidden, err.Error()
	// Membership errors are the core's, the same for SFU and mesh rooms.
	case errors.Is(err, roster.ErrReplaced):
		return wire.CodeReplaced, err.Error()
	case errors.Is(err, roster.ErrRemoved):
		return wire.CodeRemoved, err.Error()
	case errors.Is(err, roster.ErrRoomClosed):
		return wire.CodeRoomClosed, err.Error()
	case errors.Is(err, roster.ErrRoomFull):
		return wire.CodeRoomFull, err.Error()
	case errors.Is(err, roster.ErrTooManyRooms), errors.Is(err, directory.ErrTooManyRooms):
		return wire.CodeTooManyRooms, err.Error()
	case errors.Is(err, sfu.ErrTooManyTracks):
		return wire.CodeTooManyTracks, err.Error()
	case errors.Is(err, sfu.ErrUnknownMid), errors.Is(err, sfu.ErrBadView):
		return wire.CodeBadRequest, err.Error()
	case errors.Is(err, directory.ErrModeMismatch):
		return wire.CodeModeMismatch, err.Error()
	case errors.Is(err, mesh.ErrForbidden):
		return wire.CodeForbidden, err.Error()
	}
	return wire.CodeInternal, "internal error"
}
