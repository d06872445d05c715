package sfu

import (
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu/alloc"
	"github.com/switchboard-rtc/switchboard/sfu/bwe"
)

// Subscriber is the connection on which a participant receives everyone else's
// tracks. The server offers; the client answers.
//
// Every change to the connection runs on the subscriber's operation queue, one at a
// time. Negotiation is coalesced: at most one offer is outstanding, and changes made
// while it is out are folded into the next offer, sent once the answer is applied.
type Subscriber struct {
	p   *Participant
	pc  *webrtc.PeerConnection
	log *slog.Logger
	ops *opQueue

	// Owned by the operation queue's goroutine.
	subscriptions map[TrackID]*subscription
	offerOut      bool // an offer is waiting for its answer
	changed       bool // tracks changed since the last offer
	restartICE    bool // the next offer restarts ICE (RestartICE)
	candidates    candidateQueue

	readers sync.WaitGroup // one RTCP reader per sender

	// twcc numbers the packets sent and reads the client's feedback on them; bwe
	// estimates the connection's bandwidth (twcc itself, but for tests); nil:
	// unlimited.
	twcc *bwe.Estimator
	bwe  estimator
}

// estimator is what allocation needs of a bandwidth estimator.
type estimator interface {
	// Estimate is the bandwidth available now, in bits a second.
	Estimate() uint64
	// Sent tells how many bytes of RTP the connection has sent so far, in all.
	Sent(total uint64)
	// SetAmple tells whether the estimate limits what the connection is sent.
	SetAmple(ample bool)
}

type subscription struct {
	down     *DownTrack
	sender   *webrtc.RTPSender
	view     alloc.View  // as the client shows the track (allocation.go)
	reported *TrackLayer // what the client was last told it is forwarded; nil: nothing yet
}

func newSubscriber(p *Participant, pc *webrtc.PeerConnection) *Subscriber {
	s := &Subscriber{p: p, pc: pc, log: p.log.With("side", SideSubscriber), subscriptions: map[TrackID]*subscription{}}
	// A panic on the queue leaves the connection's negotiation in doubt: the
	// participant is ended (ConnectionObserver.Failed with a *safe.Error).
	s.ops = newOpQueue(s.negotiate, s.log, p.obs.Connection.Failed)
	p.watchConnection(SideSubscriber, pc)
	s.twcc = bwe.New()
	s.bwe = s.twcc
	s.allocateLoop()
	return s
}

// add subscribes to t. It returns at once; the change reaches the client in the next
// offer.
func (s *Subscriber) add(t *Track) {
	if !s.p.grants.maySubscribe() {
		return
	}
	s.ops.post(func() {
		if s.subscriptions[t.info.ID] != nil {
			return
		}
		d := newDownTrack(t)
		d.first = &s.p.first
		d.rtcpOut = s.pc.WriteRTCP
		d.twcc = s.twcc
		sender, err := s.pc.AddTrack(d)
		if err != nil {
			s.log.Warn("cannot subscribe", "track", t.info.ID, "err", err)
			return
		}
		s.subscriptions[t.info.ID] = &subscription{down: d, sender: sender}
		s.changed = true
		s.readers.Add(1)
		go s.readRTCP(sender, d)
	})
}

// receiveAV adds an audio and a video transceiver that receive from the client (each
// when asked for), for a single-connection participant: they go out in the first
// offer, and what the client sends on them is published by the Publisher sharing the
// connection.
func (s *Subscriber) receiveAV(audio, video bool) {
	var kinds []webrtc.RTPCodecType
	if audio {
		kinds = append(kinds, webrtc.RTPCodecTypeAudio)
	}
	if video {
		kinds = append(kinds, webrtc.RTPCodecTypeVideo)
	}
	s.ops.post(func() {
		for _, kind := range kinds {
			_, err := s.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
			if err != nil {
				s.log.Error("cannot add a receiving transceiver", "kind", kind, "err", err)
				s.p.obs.Connection.Failed(err)
				return
			}
		}
		s.changed = true
	})
}

// remove unsubscribes from the track with id. It returns at once.
func (s *Subscriber) remove(id TrackID) {
	s.ops.post(func() {
		sub := s.subscriptions[id]
		if sub == nil {
			return
		}
		delete(s.subscriptions, id)
		if err := s.pc.RemoveTrack(sub.sender); err != nil {
			s.log.Debug("remove track", "track", id, "err", err)
		}
		s.changed = true
	})
}

// Answer applies the client's answer to the outstanding offer.
func (s *Subscriber) Answer(answerSDP string) error {
	var err error
	if !s.ops.do(func() { err = s.applyAnswer(answerSDP) }) {
		return ErrClosed
	}
	return err
}

func (s *Subscriber) applyAnswer(answerSDP string) error {
	if !s.offerOut {
		return ErrNoOffer
	}
	answer := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answerSDP}
	if _, err := answer.Unmarshal(); err != nil {
		return wrapSDPError(err)
	}
	if err := s.pc.SetRemoteDescription(answer); err != nil {
		return wrapSDPError(err)
	}
	s.offerOut = false
	s.candidates.flush(s.pc, s.log)
	return nil
}

// AddCandidate applies a remote ICE candidate, or keeps it until the first answer.
func (s *Subscriber) AddCandidate(c webrtc.ICECandidateInit) error {
	var err error
	if !s.ops.do(func() { err = s.candidates.add(s.pc, c) }) {
		return ErrClosed
	}
	return err
}

// negotiate sends an offer when tracks changed and none is outstanding. It runs on
// the operation queue after each batch of operations.
func (s *Subscriber) negotiate() {
	if s.offerOut || !s.changed {
		return
	}
	s.changed = false
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: s.restartICE})
	s.restartICE = false
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err != nil {
		s.log.Error("cannot make an offer", "err", err)
		s.p.obs.Connection.Failed(err)
		return
	}
	s.offerOut = true
	s.p.obs.Connection.SubscriberOffer(offer.SDP, s.describe())
}

// describe lists what each sending m-line carries.
func (s *Subscriber) describe() []SubscribedTrack {
	bySender := make(map[*webrtc.RTPSender]*DownTrack, len(s.subscriptions))
	for _, sub := range s.subscriptions {
		bySender[sub.sender] = sub.down
	}
	var out []SubscribedTrack
	for _, tr := range s.pc.GetTransceivers() {
		if d := bySender[tr.Sender()]; d != nil {
			out = append(out, SubscribedTrack{Mid: tr.Mid(), TrackInfo: d.track.info})
		}
	}
	return out
}

// readRTCP reads the subscriber's feedback for one sender until the sender stops.
// Transport-wide congestion control feedback, which comes every 50 to 100 ms, goes
// to the connection's estimator as it is, without being decoded into Pion's types.
func (s *Subscriber) readRTCP(sender *webrtc.RTPSender, d *DownTrack) {
	defer s.readers.Done()
	defer safe.Recover(s.log, "subscriber RTCP reader", s.p.obs.Connection.Failed)
	readRTCP(sender.Read, s.log, s.twcc.FeedbackIn, d.handleRTCP)
}

// close stops the operation queue, ends the connection and waits for the readers.
func (s *Subscriber) close() {
	s.ops.close()
	if err := closeConnection(s.p.engine(), s.pc); err != nil {
		s.log.Debug("close", "err", err)
	}
	s.readers.Wait()
}
