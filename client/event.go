package client

import (
	"fmt"
	"reflect"

	"github.com/switchboard-rtc/switchboard/wire"
)

// TypeClientError is the type of an Event the client makes itself, not the server: it
// could not answer a subscribe-offer. Error().Message says why.
const TypeClientError = "client-error"

// Event is one message from the server: its envelope, and its body decoded by type.
// The accessors return the body of their message types, and the zero value for any
// other type: m.Error().Code is "" unless m is an error.
type Event struct {
	wire.Envelope
	body any // a pointer to the body's wire struct; nil for none (pong)
}

// String shows e's envelope and body, for logs and test failures.
func (e Event) String() string {
	s := e.Type
	if e.Re != "" {
		s += " re=" + e.Re
	}
	if e.body != nil {
		s += fmt.Sprintf(" %+v", reflect.ValueOf(e.body).Elem().Interface())
	}
	return s
}

// decodeEvent decodes a frame from the server; the body of a type the client does not
// know is not decoded.
func decodeEvent(frame []byte) (Event, error) {
	env, err := wire.DecodeFromServer(frame)
	if err != nil {
		return Event{}, err
	}
	body := wire.ServerBody(env.Type)
	if body != nil {
		if err := wire.DecodeBody(frame, body); err != nil {
			return Event{}, err
		}
	}
	return Event{Envelope: env, body: body}, nil
}

// bodyOf returns e's body if it is a T, else T's zero value.
func bodyOf[T any](e Event) T {
	if b, ok := e.body.(*T); ok {
		return *b
	}
	var zero T
	return zero
}

// Error is the body of an error (wire.TypeError, or TypeClientError).
func (e Event) Error() wire.Error { return bodyOf[wire.Error](e) }

// Joined is the body of joined.
func (e Event) Joined() wire.Joined { return bodyOf[wire.Joined](e) }

// Participant is the participant of participant-joined or participant-left.
func (e Event) Participant() wire.Participant {
	return bodyOf[wire.ParticipantEvent](e).Participant
}

// Track is the track of track-published, track-unpublished or track-muted.
func (e Event) Track() wire.Track { return bodyOf[wire.TrackEvent](e).Track }

// Chat is the body of a chat message.
func (e Event) Chat() wire.Chat { return bodyOf[wire.Chat](e) }

// Relayed is the body of a relay from another peer of a mesh room.
func (e Event) Relayed() wire.Relayed { return bodyOf[wire.Relayed](e) }

// Answer is the body of publish-answer.
func (e Event) Answer() wire.Answer { return bodyOf[wire.Answer](e) }

// Offer is the body of subscribe-offer.
func (e Event) Offer() wire.Offer { return bodyOf[wire.Offer](e) }

// Draining is the body of draining: the server is shutting down.
func (e Event) Draining() wire.Draining { return bodyOf[wire.Draining](e) }

// TrackLayer is the body of track-layer: what the client is forwarded of a track.
func (e Event) TrackLayer() wire.TrackLayer { return bodyOf[wire.TrackLayer](e) }

// PublishLayers is the body of publish-layers: which layers of its simulcast track
// subscribers need.
func (e Event) PublishLayers() wire.PublishLayers { return bodyOf[wire.PublishLayers](e) }

// Candidate is the body of candidate.
func (e Event) Candidate() wire.Candidate { return bodyOf[wire.Candidate](e) }

// refusedRequest is the error of a request of type typ answered with reply, not the
// reply it wanted: the server's error, or what it sent instead.
func refusedRequest(typ string, reply Event) error {
	if e := reply.Error(); e.Code != "" {
		return fmt.Errorf("client: %s: %s: %s", typ, e.Code, e.Message)
	}
	return fmt.Errorf("client: %s: answered with %s", typ, reply.Type)
}
