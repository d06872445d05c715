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

// ender ends a session when the media core asks (its connection failed, an
// administrator removed it), once the session is registered; a request to end that
// comes before is kept and carried out at registration.
type ender struct {
	mu    sync.Mutex
	end   func() // set once the session is registered
	early bool   // asked to end before that
}

// ask ends the session, or notes the request for set when it comes first.
func (e *ender) ask() {
	e.mu.Lock()
	f := e.end
	e.early = f == nil
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

// set registers how to end the session, and ends it now if that was asked already.
func (e *ender) set(f func()) {
	e.mu.Lock()
	e.end = f
	early := e.early
	e.mu.Unlock()
	if early {
		f()
	}
}

// publisherEvents is the sfu.ConnectionObserver of a WHIP participant, its only
// observer: a WHIP client hears nothing of the room and receives nothing. The failure
// of its connection ends the session, and so does its removal from the room (the
// media core reports it to Failed): a WHIP client has no channel to be told why, and
// sees its resource gone.
type publisherEvents struct {
	ender
}

// SubscriberOffer and Candidate are dropped: the participant has no subscriber
// connection, and the answer carries the server's candidates.
func (o *publisherEvents) SubscriberOffer(string, []sfu.SubscribedTrack) {}
func (o *publisherEvents) Candidate(sfu.Side, webrtc.ICECandidateInit)   {}

// Failed ends the session, or notes the failure for setFailed when it comes first.
func (o *publisherEvents) Failed(error) { o.ask() }

// observers hands o to the media core.
func (o *publisherEvents) observers() sfu.Observers { return sfu.Observers{Connection: o} }

func (o *publisherEvents) setFailed(f func()) { o.set(f) }
