package sfu

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Pion peers joined to rooms of this package directly, without signaling: for tests
// of what the media core does to real streams (fast start, loss recovery, sender
// reports, audio levels). Their connections run on APIs the test builds, so a test
// chooses their interceptors and header extensions.

// newPionRooms is a set of rooms on an engine with loopback candidates.
func newPionRooms(t *testing.T, cfg Config) *Rooms {
	t.Helper()
	cfg.ICELoopback = true
	cfg.Logger = quietLogger()
	engine, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rooms := NewRooms(engine)
	t.Cleanup(func() { rooms.Close(); _ = engine.Close() })
	return rooms
}

// pionAPI is a client's API: the default codecs, the header extensions given for
// audio, and the interceptors that add registers.
func pionAPI(t *testing.T, audioExtensions []string, add func(*webrtc.MediaEngine, *interceptor.Registry) error) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	for _, uri := range audioExtensions {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	reg := &interceptor.Registry{}
	if add != nil {
		if err := add(m, reg); err != nil {
			t.Fatal(err)
		}
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s))
}

// pionPeer is a participant whose client side is two Pion connections: it publishes
// on pub, and receives on sub, answering the server's offers as they come.
type pionPeer struct {
	t   *testing.T
	p   *Participant
	pub *webrtc.PeerConnection
	sub *webrtc.PeerConnection

	offers chan string
	done   chan struct{}

	mu        sync.Mutex
	remoteSet bool                      // sub has the server's offer
	pending   []webrtc.ICECandidateInit // the server's subscriber candidates until then
	failed    error

	speakers chan []ParticipantID // what Observers.Speakers hears, latest first
	layers   chan TrackLayer      // what Observers.Layers hears of received tracks
}

// joinPion joins room as name with connections made by api; onTrack, when set,
// receives the tracks the server sends.
func joinPion(t *testing.T, rooms *Rooms, room RoomID, name string, api *webrtc.API,
	onTrack func(*webrtc.TrackRemote, *webrtc.RTPReceiver),
) *pionPeer {
	t.Helper()
	pp := &pionPeer{t: t, offers: make(chan string, 16), done: make(chan struct{}), speakers: make(chan []ParticipantID, 64),
		layers: make(chan TrackLayer, 64)}
	var err error
	if pp.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if pp.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if onTrack != nil {
		pp.sub.OnTrack(onTrack)
	}
	pp.p, err = rooms.Join(room, name, Observers{Connection: pp, Speakers: pp, Layers: pp})
	if err != nil {
		t.Fatal(err)
	}
	pp.sub.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = pp.p.Subscriber().AddCandidate(c.ToJSON())
		}
	})
	go pp.answerOffers()
	t.Cleanup(pp.close)
	return pp
}

func (pp *pionPeer) close() {
	pp.p.Leave()
	close(pp.done)
	_ = pp.pub.Close()
	_ = pp.sub.Close()
}

// SubscriberOffer queues the offer for answerOffers.
func (pp *pionPeer) SubscriberOffer(sdp string, _ []SubscribedTrack) { pp.offers <- sdp }

// Candidate adds the server's subscriber candidates; its publisher ones are in the
// gathered answer publish takes.
func (pp *pionPeer) Candidate(side Side, c webrtc.ICECandidateInit) {
	if side != SideSubscriber {
		return
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if !pp.remoteSet {
		pp.pending = append(pp.pending, c)
		return
	}
	_ = pp.sub.AddICECandidate(c)
}

func (pp *pionPeer) Failed(err error) {
	pp.mu.Lock()
	pp.failed = err
	pp.mu.Unlock()
}

// ActiveSpeakers keeps what the room reports.
func (pp *pionPeer) ActiveSpeakers(ids []ParticipantID) {
	select {
	case pp.speakers <- ids:
	default:
	}
}

// TrackLayer keeps what the allocation reports.
func (pp *pionPeer) TrackLayer(l TrackLayer) {
	select {
	case pp.layers <- l:
	default:
	}
}

func (pp *pionPeer) PublishLayers(TrackID, string, map[string]bool) {}

func (pp *pionPeer) answerOffers() {
	for {
		select {
		case <-pp.done:
			return
		case sdp := <-pp.offers:
			if err := pp.answer(sdp); err != nil {
				pp.Failed(err)
			}
		}
	}
}

func (pp *pionPeer) answer(sdp string) error {
	if err := pp.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	pp.mu.Lock()
	pp.remoteSet = true
	for _, c := range pp.pending {
		_ = pp.sub.AddICECandidate(c)
	}
	pp.pending = nil
	pp.mu.Unlock()
	answer, err := pp.sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := pp.sub.SetLocalDescription(answer); err != nil {
		return err
	}
	return pp.p.Subscriber().Answer(answer.SDP)
}

// publish sends tracks on the publisher connection, each under its source, and
// returns their senders, whose RTCP it drains.
func (pp *pionPeer) publish(tracks map[Source]webrtc.TrackLocal) map[Source]*webrtc.RTPSender {
	pp.t.Helper()
	return pp.publishWith(tracks, drainSender)
}

// publishWith is publish with readRTCP reading each sender's RTCP, on a goroutine of
// its own, until the sender stops.
func (pp *pionPeer) publishWith(tracks map[Source]webrtc.TrackLocal, readRTCP func(*webrtc.RTPSender)) map[Source]*webrtc.RTPSender {
	pp.t.Helper()
	senders := map[Source]*webrtc.RTPSender{}
	bySender := map[*webrtc.RTPSender]Source{}
	for src, tr := range tracks {
		s, err := pp.pub.AddTrack(tr)
		if err != nil {
			pp.t.Fatal(err)
		}
		senders[src], bySender[s] = s, src
	}
	offer, err := pp.pub.CreateOffer(nil)
	if err != nil {
		pp.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pp.pub)
	if err := pp.pub.SetLocalDescription(offer); err != nil {
		pp.t.Fatal(err)
	}
	<-gathered
	sources := map[string]Source{}
	for _, tr := range pp.pub.GetTransceivers() {
		if src, ok := bySender[tr.Sender()]; ok {
			sources[tr.Mid()] = src
		}
	}
	if _, err := pp.p.Publisher().Answer(pp.pub.LocalDescription().SDP, sources); err != nil {
		pp.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := pp.p.Publisher().LocalDescription(ctx)
	if err != nil {
		pp.t.Fatal(err)
	}
	if err := pp.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		pp.t.Fatal(err)
	}
	for _, s := range senders {
		go readRTCP(s)
	}
	return senders
}

// drainSender reads a sender's RTCP until it stops, so that its interceptors run.
func drainSender(s *webrtc.RTPSender) {
	for {
		if _, _, err := s.ReadRTCP(); err != nil {
			return
		}
	}
}

// ssrcOf is the SSRC a sender sends on.
func ssrcOf(s *webrtc.RTPSender) uint32 { return uint32(s.GetParameters().Encodings[0].SSRC) }
