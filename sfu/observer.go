package sfu

import (
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/roster"
)

// ParticipantInfo describes a participant to the rest of the room.
type ParticipantInfo struct {
	ID ParticipantID
	// Identity is who the participant is, from its join token; empty without one.
	Identity string
	Name     string
	Tracks   []TrackInfo

	// Transport is JoinOptions.Transport: empty for the native protocol.
	Transport string
}

// ChatMessage is a text message to a whole room, stamped by the server.
type ChatMessage = roster.ChatMessage

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

// Observers are how the media core talks to a participant's owner (its signaling
// session), one per concern, so that an owner implements only what it uses. Every
// method of each must return quickly and never block: implementations queue the
// event and return. Calls for one participant come from several goroutines; the
// room's events (membership, chat, tracks) reach every participant in the same order.
type Observers struct {
	// Room hears of the room's membership and chat, and of the participant's removal.
	// Nil: the participant hears nothing of the room, and its removal is reported to
	// Connection.Failed with the reason.
	Room RoomObserver
	// Tracks hears of the tracks of the room. Nil: nothing.
	Tracks TrackObserver
	// Connection hears of the participant's own connections. Required.
	Connection ConnectionObserver
	// Speakers hears who speaks in the room. Nil: nothing.
	Speakers SpeakerObserver
	// Layers hears what the participant is forwarded of each track it receives, and
	// which simulcast layers of its own tracks subscribers need. Nil: nothing (every
	// layer stays needed).
	Layers LayerObserver
}

// LayerObserver hears of the layers of tracks (simulcast and bandwidth allocation).
type LayerObserver interface {
	// TrackLayer reports a change in what the participant is forwarded of a track.
	TrackLayer(TrackLayer)
	// PublishLayers reports a change in the layers (by rid) of the participant's own
	// simulcast track that some subscriber needs; mid is the track's m-line on the
	// participant's publishing connection, by which the client finds its sender.
	PublishLayers(track TrackID, mid string, active map[string]bool)
}

// TrackLayer is what a subscriber is forwarded of Track: the layer's rid ("" for a
// track of one layer), or nothing (Paused) for Reason.
type TrackLayer struct {
	Track  TrackID
	Layer  string
	Paused bool
	Reason PauseReason
}

// PauseReason says why a track is not forwarded to a subscriber.
type PauseReason string

// The reasons of a pause.
const (
	PauseNone      PauseReason = ""
	PauseBandwidth PauseReason = "bandwidth" // the subscriber's estimated bandwidth has no room
	PauseHidden    PauseReason = "hidden"    // the subscriber does not show it
	PauseMuted     PauseReason = "muted"     // an administrator muted it
)

// SpeakerObserver hears who speaks in the participant's room.
type SpeakerObserver interface {
	// ActiveSpeakers lists the participants speaking now, loudest first; empty when
	// nobody does. It is called when the list changes, at most every
	// speakerReportInterval, from the room's operation queue.
	ActiveSpeakers([]ParticipantID)
}

// RoomObserver hears of the room's membership and chat: Joined (with the others
// present), ParticipantJoined, ParticipantLeft, Chat, and Removed, whose reason is
// ErrReplaced, ErrRemoved or ErrRoomClosed (the others have been told it left; the
// owner should tell its client why and end the participant with Leave).
type RoomObserver = roster.Observer[ParticipantInfo]

// TrackObserver hears of the tracks published in the room.
type TrackObserver interface {
	TrackPublished(TrackInfo)
	TrackUnpublished(TrackInfo)
	// TrackMuted reports that a track in the room was muted or unmuted (TrackInfo.Muted)
	// by an administrator. Everyone in the room is told, the publisher included.
	TrackMuted(TrackInfo)
}

// ConnectionObserver hears of the participant's own peer connections.
type ConnectionObserver interface {
	// SubscriberOffer carries a new offer for the subscriber connection.
	SubscriberOffer(sdp string, tracks []SubscribedTrack)
	// Candidate carries a local ICE candidate of one of the connections.
	Candidate(side Side, c webrtc.ICECandidateInit)
	// Failed reports that a connection failed for good, or that code serving the
	// participant panicked (err is then a *safe.Error of internal/safe; the panic
	// has been logged and counted), or, without a RoomObserver, that the participant
	// was removed (err is the reason); the owner should end the participant.
	Failed(err error)
}
