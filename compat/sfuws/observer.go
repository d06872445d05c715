package sfuws

import (
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
)

// observer turns the participant's events into sfu-ws messages. The protocol knows
// only offers and candidates: who joins and leaves shows as tracks in the offers.
type observer struct{ k *conn }

var _ sfu.Observer = (*observer)(nil)

func (o *observer) SubscriberOffer(sdp string, _ []sfu.SubscribedTrack) {
	o.k.send(eventOffer, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
}

func (o *observer) Candidate(_ sfu.Side, c webrtc.ICECandidateInit) {
	o.k.send(eventCandidate, c)
}

func (o *observer) Failed(err error) { o.k.End(err) }

// Removed ends the connection; its close reason says why.
func (o *observer) Removed(reason error) { o.k.End(reason) }

func (o *observer) TrackMuted(sfu.TrackInfo) {}

func (o *observer) Joined(sfu.ParticipantInfo, []sfu.ParticipantInfo) {}
func (o *observer) ParticipantJoined(sfu.ParticipantInfo)             {}
func (o *observer) ParticipantLeft(sfu.ParticipantInfo)               {}
func (o *observer) TrackPublished(sfu.TrackInfo)                      {}
func (o *observer) TrackUnpublished(sfu.TrackInfo)                    {}
func (o *observer) Chat(sfu.ChatMessage)                              {}
