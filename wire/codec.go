package wire

import (
	"encoding/json"
	"errors"
)

// Envelope is what every message has: its type, and the id that ties a reply to its
// request. A client may give any request an ID; the server's replies and errors
// caused by that request carry it back as Re. The server never sends an ID and a
// client never sends a Re.
type Envelope struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Re   string `json:"re,omitempty"`
}

// ErrNotObject: a message body that does not encode to a JSON object.
var ErrNotObject = errors.New("wire: a message body must encode to a JSON object")

// Encode returns the frame of a message: env's fields first (type, then id or re when
// set), then body's. body is one of this package's body structs, or nil for a message
// with nothing but its envelope (ping, pong, leave).
func Encode(env Envelope, body any) ([]byte, error) {
	head, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	if body == nil {
		return head, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, ErrNotObject
	}
	if len(b) == 2 { // {}
		return head, nil
	}
	frame := make([]byte, 0, len(head)+len(b))
	frame = append(frame, head[:len(head)-1]...)
	frame = append(frame, ',')
	return append(frame, b[1:]...), nil
}

// DecodeFromClient decodes the envelope of a frame a client sent: its type and id.
// A frame that is not a JSON object, or whose type or id is not a string, is an
// error; a client's re is not looked at. An empty Type is for the caller to refuse.
func DecodeFromClient(frame []byte) (Envelope, error) {
	var env struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	err := json.Unmarshal(frame, &env)
	return Envelope{Type: env.Type, ID: env.ID}, err
}

// DecodeFromServer decodes the envelope of a frame the server sent: its type and re.
func DecodeFromServer(frame []byte) (Envelope, error) {
	var env struct {
		Type string `json:"type"`
		Re   string `json:"re"`
	}
	err := json.Unmarshal(frame, &env)
	return Envelope{Type: env.Type, Re: env.Re}, err
}

// DecodeBody decodes the body of frame, whose envelope was decoded first, into body (a
// pointer to the body struct of its type). Fields body does not have, the envelope's
// among them, are ignored.
func DecodeBody(frame []byte, body any) error {
	return json.Unmarshal(frame, body)
}

// ServerBody returns a new body for a message of type typ from the server, as a
// pointer to its struct (*Joined for TypeJoined, ...), for DecodeBody; nil for a type
// that has no body (TypePong) or that the server does not send.
func ServerBody(typ string) any {
	switch typ {
	case TypeJoined:
		return new(Joined)
	case TypeParticipantJoined, TypeParticipantLeft:
		return new(ParticipantEvent)
	case TypeTrackPublished, TypeTrackUnpublished, TypeTrackMuted:
		return new(TrackEvent)
	case TypePublishAnswer:
		return new(Answer)
	case TypeSubscribeOffer:
		return new(Offer)
	case TypeCandidate:
		return new(Candidate)
	case TypeChat:
		return new(Chat)
	case TypeRelay:
		return new(Relayed)
	case TypeError:
		return new(Error)
	case TypeDraining:
		return new(Draining)
	case TypeActiveSpeaker:
		return new(ActiveSpeaker)
	case TypeTrackLayer:
		return new(TrackLayer)
	case TypePublishLayers:
		return new(PublishLayers)
	}
	return nil
}
