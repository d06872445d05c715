package whip

import (
	"context"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
)

// resource is the media side of one WHIP or WHEP session.
type resource interface {
	AddCandidate(c webrtc.ICECandidateInit) error
	RestartICE(ctx context.Context, ufrag, pwd string) (string, error)
	Close()
}

// publisherSession is a WHIP session: a room participant that only publishes.
type publisherSession struct {
	p *sfu.Participant
}

func (s *publisherSession) AddCandidate(c webrtc.ICECandidateInit) error {
	return s.p.Publisher().AddCandidate(c)
}

func (s *publisherSession) RestartICE(ctx context.Context, ufrag, pwd string) (string, error) {
	return s.p.Publisher().RestartICE(ctx, ufrag, pwd)
}

func (s *publisherSession) Close() { s.p.Leave() }

// viewerSession is a WHEP session.
type viewerSession struct{ v *sfu.Viewer }

func (s *viewerSession) AddCandidate(c webrtc.ICECandidateInit) error { return s.v.AddCandidate(c) }

func (s *viewerSession) RestartICE(ctx context.Context, ufrag, pwd string) (string, error) {
	return s.v.RestartICE(ctx, ufrag, pwd)
}

func (s *viewerSession) Close() { s.v.Close() }

// publisherEvents is the sfu.Observer of a WHIP participant. A WHIP client hears
// nothing of the room and receives nothing: every event is dropped but the failure
// of its connection, which ends the session.
type publisherEvents struct {
	mu     sync.Mutex
	failed func() // set once the session is registered
	early  bool   // failed before that
}

func (o *publisherEvents) Joined(sfu.ParticipantInfo, []sfu.ParticipantInfo) {}
func (o *publisherEvents) ParticipantJoined(sfu.ParticipantInfo)             {}
func (o *publisherEvents) ParticipantLeft(sfu.ParticipantInfo)               {}
func (o *publisherEvents) TrackPublished(sfu.TrackInfo)                      {}
func (o *publisherEvents) TrackUnpublished(sfu.TrackInfo)                    {}
func (o *publisherEvents) Chat(sfu.ChatMessage)                              {}
func (o *publisherEvents) SubscriberOffer(string, []sfu.SubscribedTrack)     {}
func (o *publisherEvents) Candidate(sfu.Side, webrtc.ICECandidateInit)       {}

// Failed ends the session, or notes the failure for setFailed when it comes first.
func (o *publisherEvents) Failed(error) {
	o.mu.Lock()
	f := o.failed
	o.early = f == nil
	o.mu.Unlock()
	if f != nil {
		f()
	}
}

// Removed ends the session as a failure does: a WHIP client has no channel to be told
// why, and sees its resource gone.
func (o *publisherEvents) Removed(reason error) { o.Failed(reason) }

func (o *publisherEvents) TrackMuted(sfu.TrackInfo) {}

func (o *publisherEvents) setFailed(f func()) {
	o.mu.Lock()
	o.failed = f
	early := o.early
	o.mu.Unlock()
	if early {
		f()
	}
}
