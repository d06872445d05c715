package signal

import (
	"encoding/json"

	"github.com/pion/webrtc/v4"
)

// Message types a client sends.
const (
	TypeJoin            = "join"
	TypePublishOffer    = "publish-offer"
	TypeSubscribeAnswer = "subscribe-answer"
	TypeCandidate       = "candidate"
	TypeChat            = "chat"
	TypeLeave           = "leave"
	TypePing            = "ping"
	// TypeRelay is a message for one other peer of a mesh room; the server sends it
	// on as TypeRelay too, stamped with its sender.
	TypeRelay = "relay"
)

// Message types the server sends (TypeCandidate and TypeChat too).
const (
	TypeJoined            = "joined"
	TypeParticipantJoined = "participant-joined"
	TypeParticipantLeft   = "participant-left"
	TypeTrackPublished    = "track-published"
	TypeTrackUnpublished  = "track-unpublished"
	TypeTrackMuted        = "track-muted"
	TypePublishAnswer     = "publish-answer"
	TypeSubscribeOffer    = "subscribe-offer"
	TypePong              = "pong"
	TypeError             = "error"
)

// Limits on what a client sends. The transport enforces the message size (Limits,
// MaxMessageSize by default) on each frame; the session checks the rest.
const (
	// MaxMessageSize bounds one message unless Limits say otherwise: an SDP at its
	// limit, JSON-escaped, and the rest of the message.
	MaxMessageSize = 256 << 10
	// MaxSDPSize bounds an offer or answer inside a message. Chrome's answer costs
	// about 0.8 KB per m-line, so 192 KiB leaves room for over 200 received tracks
	// (a room of 100 people with camera and microphone).
	MaxSDPSize = 192 << 10
	// MaxChatSize bounds one chat message, in bytes.
	MaxChatSize = 4 << 10
	// MaxNameSize bounds request ids, in bytes. Room and display names follow
	// sfu.ParseRoomID and sfu.ParseDisplayName.
	MaxNameSize = 64
	// MaxRelaySize bounds the data of one relay in a mesh room, in bytes. Peers relay
	// an offer or answer of their own (a browser's, with a camera, a microphone and
	// a screen share, is under 10 KB) or one ICE candidate; 64 KiB leaves room for
	// a few times that and keeps one client from making the server copy much.
	MaxRelaySize = 64 << 10
)

// envelope is what every message has: its type, and the optional request id that
// replies carry back as re.
type envelope struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

type joinRequest struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Mode string `json:"mode"`
}

type relayRequest struct {
	To   string          `json:"to"`
	Data json.RawMessage `json:"data"`
}

type publishOffer struct {
	SDP     string            `json:"sdp"`
	Sources map[string]string `json:"sources"`
}

type subscribeAnswer struct {
	SDP string `json:"sdp"`
}

type candidateMessage struct {
	Type      string                   `json:"type"`
	Target    string                   `json:"target"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

type chatRequest struct {
	Text string `json:"text"`
}

// Wire forms of what the server sends.

type participantJSON struct {
	ID       string      `json:"id"`
	Identity string      `json:"identity,omitempty"`
	Name     string      `json:"name"`
	Tracks   []trackJSON `json:"tracks"`
	// Grants: a mesh peer's, when its token limits them.
	Grants *meshGrantsJSON `json:"grants,omitempty"`
}

// meshGrantsJSON is what a mesh peer may do: send audio, send video, receive.
type meshGrantsJSON struct {
	Audio     bool `json:"audio"`
	Video     bool `json:"video"`
	Subscribe bool `json:"subscribe"`
}

type trackJSON struct {
	Mid         string `json:"mid,omitempty"`
	ID          string `json:"id"`
	Participant string `json:"participant"`
	Kind        string `json:"kind"`
	Source      string `json:"source"`
	Muted       bool   `json:"muted,omitempty"`
}

type joinedMessage struct {
	Type         string             `json:"type"`
	Re           string             `json:"re,omitempty"`
	Room         string             `json:"room"`
	Mode         string             `json:"mode"`
	Participant  participantJSON    `json:"participant"`
	Participants []participantJSON  `json:"participants"`
	ICEServers   []webrtc.ICEServer `json:"iceServers"`
}

type participantMessage struct {
	Type        string          `json:"type"`
	Participant participantJSON `json:"participant"`
}

type trackMessage struct {
	Type  string    `json:"type"`
	Track trackJSON `json:"track"`
}

type answerMessage struct {
	Type string `json:"type"`
	Re   string `json:"re,omitempty"`
	SDP  string `json:"sdp"`
}

type offerMessage struct {
	Type   string      `json:"type"`
	SDP    string      `json:"sdp"`
	Tracks []trackJSON `json:"tracks"`
}

type chatMessage struct {
	Type string `json:"type"`
	From string `json:"from"`
	Name string `json:"name"`
	Text string `json:"text"`
	Time string `json:"time"`
}

// relayMessage is a relay on its way to its target; From is stamped by the server.
type relayMessage struct {
	Type string          `json:"type"`
	From string          `json:"from"`
	Data json.RawMessage `json:"data"`
}

type pongMessage struct {
	Type string `json:"type"`
	Re   string `json:"re,omitempty"`
}

type errorMessage struct {
	Type    string `json:"type"`
	Re      string `json:"re,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}
