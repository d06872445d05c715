package wire

// Message types a client sends. TypeCandidate and TypeChat go both ways.
const (
	TypeJoin            = "join"
	TypePublishOffer    = "publish-offer"
	TypeSubscribeAnswer = "subscribe-answer"
	TypeCandidate       = "candidate"
	TypeChat            = "chat"
	TypeLeave           = "leave"
	TypePing            = "ping"
	// TypeRelay is a message for one other peer of a mesh room (body Relay); the
	// server sends it on as TypeRelay too (body Relayed), stamped with its sender.
	TypeRelay = "relay"
	// TypeTrackView (body TrackView) tells the server how large a received video
	// track is shown, and whether at all, so that it forwards no more than that needs.
	TypeTrackView = "track-view"
)

// Message types the server sends, besides TypeCandidate, TypeChat and TypeRelay.
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
	// TypeDraining (body Draining) tells every session once that the server is
	// shutting down: calls go on until they end or the deadline, new joins are
	// refused with CodeDraining.
	TypeDraining = "draining"
	// TypeActiveSpeaker (body ActiveSpeaker) tells the members of an SFU room who
	// speaks, when that changes, at most every 500 ms.
	TypeActiveSpeaker = "active-speaker"
	// TypeTrackLayer (body TrackLayer) tells a subscriber what it is forwarded of a
	// track, when that changes.
	TypeTrackLayer = "track-layer"
	// TypePublishLayers (body PublishLayers) tells a publisher which simulcast layers
	// of one of its tracks some subscriber needs, when that changes.
	TypePublishLayers = "publish-layers"
)
