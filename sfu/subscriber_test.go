package sfu

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// recorder is a ConnectionObserver that keeps the subscriber offers it is given.
type recorder struct {
	offers chan offer
}

type offer struct {
	sdp    string
	tracks []SubscribedTrack
}

func (r *recorder) Candidate(Side, webrtc.ICECandidateInit) {}
func (r *recorder) Failed(error)                            {}
func (r *recorder) SubscriberOffer(sdp string, tracks []SubscribedTrack) {
	r.offers <- offer{sdp, tracks}
}

func newTestSubscriber(t *testing.T) (*Subscriber, *recorder) {
	t.Helper()
	engine, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	pc, err := engine.newSubscriberConnection()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{offers: make(chan offer, 16)}
	p := &Participant{id: "sub", obs: Observers{Connection: rec}, log: quietLogger()}
	s := newSubscriber(p, pc)
	t.Cleanup(s.close)
	return s, rec
}

func publishedTrack(id TrackID, kind webrtc.RTPCodecType) *Track {
	codec := webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	if kind == webrtc.RTPCodecTypeAudio {
		codec = webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
	}
	info := TrackInfo{ID: id, Participant: "pub", Kind: kind, Source: SourceCamera}
	return newTrack(info, codec, 1, func([]rtcp.Packet) error { return nil }, quietLogger())
}

// answerer is the client side of a subscriber connection.
func newAnswerer(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

func answer(t *testing.T, pc *webrtc.PeerConnection, o offer) string {
	t.Helper()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.sdp}); err != nil {
		t.Fatal(err)
	}
	a, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(a); err != nil {
		t.Fatal(err)
	}
	return a.SDP
}

func nextOffer(t *testing.T, rec *recorder) offer {
	t.Helper()
	select {
	case o := <-rec.offers:
		return o
	case <-time.After(5 * time.Second):
		t.Fatal("no offer within 5s")
	}
	return offer{}
}

// noOffer checks that s has made no offer for what was posted to it so far: two
// barriers on its operation queue let every earlier operation and the negotiation
// after its batch (the idle hook) run, so an offer would be in rec by then.
func noOffer(t *testing.T, s *Subscriber, rec *recorder, why string) {
	t.Helper()
	for range 2 {
		if !s.ops.do(func() {}) {
			t.Fatal("the subscriber's operation queue is closed")
		}
	}
	select {
	case o := <-rec.offers:
		t.Fatalf("%s, but got an offer for %d tracks", why, len(o.tracks))
	default:
	}
}

func trackIDs(ts []SubscribedTrack) string {
	out := ""
	for _, t := range ts {
		out += fmt.Sprintf("%s@%s ", t.ID, t.Mid)
	}
	return out
}

// TestSubscriberCoalescesOffers checks that changes made while an offer is out wait
// for its answer and then go out together in one offer.
func TestSubscriberCoalescesOffers(t *testing.T) {
	s, rec := newTestSubscriber(t)
	client := newAnswerer(t)

	s.add(publishedTrack("a", webrtc.RTPCodecTypeVideo))
	first := nextOffer(t, rec)
	if len(first.tracks) != 1 || first.tracks[0].ID != "a" {
		t.Fatalf("first offer carries %s, want a", trackIDs(first.tracks))
	}

	s.add(publishedTrack("b", webrtc.RTPCodecTypeAudio))
	s.add(publishedTrack("c", webrtc.RTPCodecTypeVideo))
	s.remove("a")
	noOffer(t, s, rec, "an offer is outstanding")

	if err := s.Answer(answer(t, client, first)); err != nil {
		t.Fatal(err)
	}
	second := nextOffer(t, rec)
	if got := trackIDs(second.tracks); len(second.tracks) != 2 || second.tracks[0].ID != "b" || second.tracks[1].ID != "c" {
		t.Fatalf("second offer carries %s, want b and c", got)
	}
	if err := s.Answer(answer(t, client, second)); err != nil {
		t.Fatal(err)
	}
	noOffer(t, s, rec, "nothing changed after the second answer")
}

func TestSubscriberAnswerErrors(t *testing.T) {
	s, rec := newTestSubscriber(t)
	if err := s.Answer("v=0"); !errors.Is(err, ErrNoOffer) {
		t.Fatalf("answer with no offer out: %v, want ErrNoOffer", err)
	}
	s.add(publishedTrack("a", webrtc.RTPCodecTypeVideo))
	o := nextOffer(t, rec)
	if err := s.Answer("not sdp"); !errors.Is(err, ErrInvalidSDP) {
		t.Fatalf("garbage answer: %v, want ErrInvalidSDP", err)
	}
	// The offer is still out and a good answer is still accepted.
	if err := s.Answer(answer(t, newAnswerer(t), o)); err != nil {
		t.Fatalf("good answer after a bad one: %v", err)
	}
}
