package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// ParticipantInfo describes a participant to the rest of the room.
type ParticipantInfo struct {
	ID ParticipantID
	// Identity is who the participant is, from its join token; empty without one.
	Identity string
	Name     string
	Tracks   []TrackInfo
}

// ChatMessage is a text message to a whole room, stamped by the server.
type ChatMessage struct {
	From ParticipantID
	Name string
	Text string
	Time time.Time
}

// Side names one of a participant's two peer connections.
type Side string

// The two sides of a participant.
const (
	SidePublisher  Side = "publisher"
	SideSubscriber Side = "subscriber"
)

// SubscribedTrack says which published track a sending m-line of a subscriber offer
// carries.
type SubscribedTrack struct {
	Mid string
	TrackInfo
}

// Observer is how the media core talks to a participant's owner (its signaling
// session). Every method must return quickly and never block: implementations queue
// the event and return. Calls for one participant come from several goroutines; the
// room's events reach every participant in the same order.
type Observer interface {
	// Joined reports that the participant is in the room, with the others present.
	Joined(self ParticipantInfo, others []ParticipantInfo)
	ParticipantJoined(ParticipantInfo)
	ParticipantLeft(ParticipantInfo)
	TrackPublished(TrackInfo)
	TrackUnpublished(TrackInfo)
	Chat(ChatMessage)
	// SubscriberOffer carries a new offer for the subscriber connection.
	SubscriberOffer(sdp string, tracks []SubscribedTrack)
	// Candidate carries a local ICE candidate of one of the connections.
	Candidate(side Side, c webrtc.ICECandidateInit)
	// Failed reports that a connection failed for good, or that code serving the
	// participant panicked (err is then a *safe.Error of internal/safe; the panic
	// has been logged and counted); the owner should end the participant.
	Failed(err error)
	// Removed reports that the server took the participant out of the room, for
	// reason (ErrReplaced, ErrRemoved, ErrRoomClosed): the others have been told it
	// left. The owner should tell its client why and end the participant (Leave).
	Removed(reason error)
	// TrackMuted reports that a track in the room was muted or unmuted (TrackInfo.Muted)
	// by an administrator. Everyone in the room is told, the publisher included.
	TrackMuted(TrackInfo)
}
