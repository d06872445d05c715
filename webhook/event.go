// Package webhook sends the server's room events (a room started or finished, a
// participant joined or left, a track was published or unpublished) as signed JSON
// POSTs to the endpoints an operator configures.
//
// Each endpoint has one bounded queue and one goroutine that delivers its events one
// at a time, in the order they were sent: every room's events reach every endpoint in
// order. A delivery that fails with a 5xx, a 429, a timeout or a connection error is
// retried with exponential backoff up to a cap; any other status is final. Send
// never waits: when an endpoint's queue is full the event is dropped for that
// endpoint, and counted. See docs/operations.md, "Webhooks".
package webhook

import (
	"time"

	"github.com/switchboard-rtc/switchboard/roster"
)

// Type names an event.
type Type string

// The events.
const (
	RoomStarted       Type = "room_started"
	RoomFinished      Type = "room_finished"
	ParticipantJoined Type = "participant_joined"
	ParticipantLeft   Type = "participant_left"
	TrackPublished    Type = "track_published"
	TrackUnpublished  Type = "track_unpublished"
)

// eventIDPrefix starts every event id.
const eventIDPrefix = "ev_"

// Event is one webhook's body, as JSON.
type Event struct {
	// ID is unique per event, random, the same on every retry and every endpoint: a
	// receiver that has seen it already can ignore the delivery. NewEvent sets it.
	ID string `json:"id"`
	// Type is what happened.
	Type Type `json:"event"`
	// Time is when it happened, in UTC (RFC 3339 with nanoseconds in JSON).
	Time time.Time `json:"time"`
	Room Room      `json:"room"`
	// Participant is set on participant and track events.
	Participant *Participant `json:"participant,omitempty"`
	// Track is set on track events.
	Track *Track `json:"track,omitempty"`
}

// Room names the room of an event.
type Room struct {
	Name string `json:"name"`
	// Kind is "sfu", "mesh" or "auto" (roster.Mode).
	Kind string `json:"kind"`
}

// Participant describes a participant of an event.
type Participant struct {
	ID string `json:"id"`
	// Identity is from the participant's join token; empty without one.
	Identity string `json:"identity,omitempty"`
	Name     string `json:"name,omitempty"`
	// Transport is how it connected: "websocket" or "sse" (the native protocol),
	// "whip" or "sfu-ws"; "native" for a mesh peer (WebSocket or SSE).
	Transport string `json:"transport"`
}

// Track describes a published track.
type Track struct {
	ID string `json:"id"`
	// Kind is "audio" or "video".
	Kind string `json:"kind"`
	// Source is "camera", "microphone", "screen", or empty when the publisher did
	// not say.
	Source string `json:"source,omitempty"`
}

// NewEvent is an event of type t in room, now, with a new random id.
func NewEvent(t Type, room Room) Event {
	return Event{ID: roster.RandomID(eventIDPrefix), Type: t, Time: time.Now().UTC(), Room: room}
}
