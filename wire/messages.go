package wire

import "encoding/json"

// Bodies of the messages a client sends. Each is the JSON object of its message minus
// the envelope (type and id); Encode and DecodeBody add and skip the envelope.

// Join is the body of TypeJoin: the room to join (created if it does not exist), the
// display name, and the room's mode ("sfu", "mesh", "auto", or empty for the
// server's choice). The server answers TypeJoined.
type Join struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Mode string `json:"mode,omitempty"`
}

// PublishOffer is the body of TypePublishOffer: the client's offer on its publisher
// connection, and the source ("camera", "microphone", "screen") of each sending
// m-line by mid. The server answers TypePublishAnswer (body Answer).
type PublishOffer struct {
	SDP     string            `json:"sdp"`
	Sources map[string]string `json:"sources"`
}

// SubscribeAnswer is the body of TypeSubscribeAnswer: the client's answer to the
// latest TypeSubscribeOffer.
type SubscribeAnswer struct {
	SDP string `json:"sdp"`
}

// ChatRequest is the body of a TypeChat the client sends; the room gets it as Chat.
type ChatRequest struct {
	Text string `json:"text"`
}

// Mute is the body of TypeMute: the client muted (Muted) or unmuted its Source
// ("microphone", "camera" or "screen"). Everyone in the room is told through
// TypeTrackMuted, the track's SelfMuted set.
type Mute struct {
	Source string `json:"source"`
	Muted  bool   `json:"muted"`
}

// Relay is the body of a TypeRelay the client sends, in a mesh room: Data (a JSON
// object) for the peer To. The peer gets it as Relayed.
type Relay struct {
	To   string          `json:"to"`
	Data json.RawMessage `json:"data"`
}

// Bodies of the messages both sides send.

// Sides of a peer connection, as Candidate.Target names them.
const (
	TargetPublisher  = "publisher"
	TargetSubscriber = "subscriber"
)

// Candidate is the body of TypeCandidate, either way: a trickled ICE candidate for the
// connection Target names (TargetPublisher or TargetSubscriber). A Candidate with an
// empty candidate string ends the candidates.
type Candidate struct {
	Target    string        `json:"target"`
	Candidate *ICECandidate `json:"candidate"`
}

// ICECandidate is an ICE candidate as the browser's RTCIceCandidateInit has it. It has
// the fields of Pion's webrtc.ICECandidateInit, in the same order, so that one
// converts to the other with a plain conversion.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
	UsernameFragment *string `json:"usernameFragment"`
}

// Bodies of the messages the server sends.

// Joined is the body of TypeJoined, the reply to Join: the room, its mode ("sfu" or
// "mesh"), the client itself, everyone else already there, and the STUN/TURN servers
// for the client's connections. The server sends Participants and ICEServers as
// arrays, empty rather than null.
type Joined struct {
	Room         string        `json:"room"`
	Mode         string        `json:"mode"`
	Participant  Participant   `json:"participant"`
	Participants []Participant `json:"participants"`
	ICEServers   []ICEServer   `json:"iceServers"`
	// Auto is set in an auto room, whose Mode is the one it has now: the room may
	// change mode later (TypeSwitch).
	Auto bool `json:"auto,omitempty"`
}

// Switch is the body of TypeSwitch: the auto room is changing to Mode ("sfu" or
// "mesh"), in its switch number Epoch (from 1). The session is now also a member of
// the new mode's room, under the same participant id; Participants are the others
// already in that room when it entered, as in Joined (an array, never null).
type Switch struct {
	Mode         string        `json:"mode"`
	Epoch        int           `json:"epoch"`
	Participants []Participant `json:"participants"`
}

// Switched is the body of TypeSwitched. From the client (Mode empty): it has the
// new mode's media of switch Epoch playing, or gave up waiting for it. From the
// server: switch Epoch to Mode is over; the client closes its old mode's
// connections.
type Switched struct {
	Mode  string `json:"mode,omitempty"`
	Epoch int    `json:"epoch"`
}

// ParticipantEvent is the body of TypeParticipantJoined and TypeParticipantLeft.
type ParticipantEvent struct {
	Participant Participant `json:"participant"`
}

// TrackEvent is the body of TypeTrackPublished, TypeTrackUnpublished and
// TypeTrackMuted.
type TrackEvent struct {
	Track Track `json:"track"`
}

// Answer is the body of TypePublishAnswer, the reply to PublishOffer.
type Answer struct {
	SDP string `json:"sdp"`
}

// Offer is the body of TypeSubscribeOffer: the server's offer on the subscriber
// connection and the track each m-line carries (Track.Mid set). The client answers
// SubscribeAnswer.
type Offer struct {
	SDP    string  `json:"sdp"`
	Tracks []Track `json:"tracks"`
}

// Chat is the body of a TypeChat the server sends: who sent Text, and when (RFC 3339
// with nanoseconds, as the server's clock has it).
type Chat struct {
	From string `json:"from"`
	Name string `json:"name"`
	Text string `json:"text"`
	Time string `json:"time"`
}

// Relayed is the body of a TypeRelay the server sends on: Data as the peer From (a
// participant id the server stamps, never the sender's say) relayed it.
type Relayed struct {
	From string          `json:"from"`
	Data json.RawMessage `json:"data"`
}

// Error is the body of TypeError: Code (one of the Code constants) for programs,
// Message for people. An error caused by a request carries its id as re.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Draining is the body of TypeDraining. Deadline is when the server ends the calls
// still running (RFC 3339, UTC); empty when it waits for them without a deadline.
type Draining struct {
	Deadline string `json:"deadline,omitempty"`
}

// ActiveSpeaker is the body of TypeActiveSpeaker: the ids of the participants
// speaking now, loudest first, from the audio levels their microphones send (RFC
// 6464); empty, never null, when nobody speaks.
type ActiveSpeaker struct {
	Participants []string `json:"participants"`
}

// Participant describes a participant of a room. The server always sends Tracks, as
// an array: a mesh peer publishes nothing through it. Grants are set for a mesh peer
// whose join token limits what it may do, so that the others send it no media it
// may not receive.
type Participant struct {
	ID       string      `json:"id"`
	Identity string      `json:"identity,omitempty"`
	Name     string      `json:"name"`
	Tracks   []Track     `json:"tracks"`
	Grants   *MeshGrants `json:"grants,omitempty"`
}

// MeshGrants is what a mesh peer may do: send audio, send video, receive.
type MeshGrants struct {
	Audio     bool `json:"audio"`
	Video     bool `json:"video"`
	Subscribe bool `json:"subscribe"`
}

// Track describes a published track. Mid is set only in Offer: the subscriber
// connection's m-line that carries it. Kind is "audio" or "video"; Source is
// "camera", "microphone" or "screen".
type Track struct {
	Mid         string `json:"mid,omitempty"`
	ID          string `json:"id"`
	Participant string `json:"participant"`
	Kind        string `json:"kind"`
	Source      string `json:"source"`
	Muted       bool   `json:"muted,omitempty"`
	// SelfMuted is set while the publisher says it muted the track's source (Mute).
	SelfMuted bool `json:"selfMuted,omitempty"`
	// Layers are the simulcast layers' rids, lowest quality first; absent for a
	// track sent as one layer.
	Layers []string `json:"layers,omitempty"`
}

// ICEServer is a STUN or TURN server for the client's connections, as the browser's
// RTCIceServer has it. Its fields are in the order of their JSON names, and
// CredentialType is always sent: the bytes Pion's webrtc.ICEServer encodes to.
type ICEServer struct {
	// Credential is a TURN password (a string), or Pion's OAuth credential.
	Credential any `json:"credential,omitempty"`
	// CredentialType is "password" or "oauth".
	CredentialType string   `json:"credentialType"`
	URLs           []string `json:"urls"`
	Username       string   `json:"username,omitempty"`
}

// TrackView is the body of TypeTrackView: how a subscriber shows a received video
// track. Width and Height are the tile's size in device pixels (0: unknown, taken
// as large); Visible false means not shown at all (nothing is forwarded), absent
// means true. A track never described is taken as visible and large.
type TrackView struct {
	Track   string `json:"track"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Visible *bool  `json:"visible,omitempty"`
}

// TrackLayer is the body of TypeTrackLayer: the layer (rid) of Track forwarded to
// the subscriber, "" for a track of one layer; Paused when nothing is, for Reason.
type TrackLayer struct {
	Track  string `json:"track"`
	Layer  string `json:"layer"`
	Paused bool   `json:"paused"`
	Reason string `json:"reason"`
}

// The reasons of a paused TrackLayer.
const (
	PauseBandwidth = "bandwidth" // the subscriber's estimated bandwidth has no room for it
	PauseHidden    = "hidden"    // the subscriber does not show it (TrackView)
	PauseMuted     = "muted"     // its publisher or an administrator muted it
)

// PublishLayers is the body of TypePublishLayers: for each simulcast layer (rid) of
// the publisher's Track, whether some subscriber needs it. Mid is the track's mid
// on the publisher's connection, by which the client finds the sender (it never
// learns its own track ids). The client sets its encodings' active flags to match,
// without renegotiating.
type PublishLayers struct {
	Track  string          `json:"track"`
	Mid    string          `json:"mid"`
	Active map[string]bool `json:"active"`
}
