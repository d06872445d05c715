package sfuws

import (
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
)

// observer turns the participant's connection events into sfu-ws messages, and is
// its only observer. The protocol knows only offers and candidates: who joins and
// leaves shows as tracks in the offers. A removal from the room ends the connection
// as a failure does (the media core reports it to Failed), its close reason saying
// why.
type observer struct{ k *conn }

var _ sfu.ConnectionObserver = (*observer)(nil)

func (o *observer) SubscriberOffer(sdp string, _ []sfu.SubscribedTrack) {
	o.k.send(eventOffer, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
}

func (o *observer) Candidate(_ sfu.Side, c webrtc.ICECandidateInit) {
	o.k.send(eventCandidate, c)
}

func (o *observer) Failed(err error) { o.k.End(err) }
