package wire

// Limits on what a client sends, part of the protocol's contract (docs/protocol.md,
// "Framing and limits"). A server may lower or raise the message size (the transport
// enforces it on each frame); the others it checks as they are.
const (
	// MaxMessageSize bounds one message unless the server is configured otherwise: an
	// SDP at its limit, JSON-escaped, and the rest of the message.
	MaxMessageSize = 256 << 10
	// MaxSDPSize bounds an offer or answer inside a message. Chrome's answer costs
	// about 0.8 KB per m-line, so 192 KiB leaves room for over 200 received tracks
	// (a room of 100 people with camera and microphone).
	MaxSDPSize = 192 << 10
	// MaxChatSize bounds one chat message, in bytes, once trimmed of white space.
	MaxChatSize = 4 << 10
	// MaxIDSize bounds a request id, in bytes. Room and display names have rules of
	// their own (roster.ParseRoomID, roster.ParseDisplayName).
	MaxIDSize = 64
	// MaxRelaySize bounds the data of one relay in a mesh room, in bytes. Peers relay
	// an offer or answer of their own (a browser's, with a camera, a microphone and
	// a screen share, is under 10 KB) or one ICE candidate; 64 KiB leaves room for
	// a few times that and keeps one client from making the server copy much.
	MaxRelaySize = 64 << 10
)
