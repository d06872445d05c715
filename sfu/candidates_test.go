package sfu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// hostCandidate is a distinct loopback host candidate for each port.
func hostCandidate(port int) webrtc.ICECandidateInit {
	mid := "0"
	return webrtc.ICECandidateInit{Candidate: fmt.Sprintf("candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host", port, port), SDPMid: &mid}
}

// videoOffer is an offer of a Pion peer that sends one video track.
func videoOffer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func joinTestRoom(t *testing.T) *Participant {
	t.Helper()
	engine, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rooms := NewRooms(engine)
	t.Cleanup(func() { rooms.Close(); _ = engine.Close() })
	p, err := rooms.Join("candidates", "mallory", Observers{Connection: &recorder{offers: make(chan offer, 16)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Leave)
	return p
}

// TestCandidatesPerConnectionAreBounded: a client that trickles candidate after
// candidate on one connection has them refused past maxCandidates, before its offer
// and after it; an ICE restart starts a new count.
func TestCandidatesPerConnectionAreBounded(t *testing.T) {
	pub := joinTestRoom(t).Publisher()
	port := 10000
	for range maxPendingCandidates {
		if err := pub.AddCandidate(hostCandidate(port)); err != nil {
			t.Fatalf("pending candidate %d: %v", port, err)
		}
		port++
	}
	if _, err := pub.Answer(videoOffer(t), nil); err != nil {
		t.Fatal(err)
	}
	for ; port < 10000+maxCandidates; port++ {
		if err := pub.AddCandidate(hostCandidate(port)); err != nil {
			t.Fatalf("candidate %d of %d: %v", port-10000+1, maxCandidates, err)
		}
	}
	for range 100 {
		err := pub.AddCandidate(hostCandidate(port))
		if !errors.Is(err, ErrInvalidCandidate) || !strings.Contains(err.Error(), "too many") {
			t.Fatalf("candidate %d: %v, want it refused as one too many", port-10000+1, err)
		}
		port++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pub.RestartICE(ctx, "newufrag", "newpasswordnewpasswordxx"); err != nil {
		t.Fatal(err)
	}
	if err := pub.AddCandidate(hostCandidate(port)); err != nil {
		t.Errorf("first candidate after an ICE restart: %v", err)
	}
}

// TestOffersCannotGrowTransceivers: offers that each bring an m-line under a new mid
// in place of the last one are refused; a rejected m-line may be recycled under a new
// mid, but only up to maxMids over the connection's life; an offer of more than
// maxMLines m-lines is refused. The connection never holds more than maxMids
// transceivers.
func TestOffersCannotGrowTransceivers(t *testing.T) {
	pub := joinTestRoom(t).Publisher()
	base := audioVideoOffer(t) // mids "0" (audio) and "1" (video)
	if _, err := pub.Answer(base, nil); err != nil {
		t.Fatalf("first offer: %v", err)
	}
	for i := range 50 {
		if _, err := pub.Answer(withVideo(base, fmt.Sprintf("m%d", i), false), nil); !errors.Is(err, ErrInvalidSDP) {
			t.Fatalf("offer %d replacing the video m-line: %v, want it refused", i, err)
		}
	}
	if _, err := pub.Answer(withVideo(base, "1", true), nil); err != nil {
		t.Fatalf("rejecting the video m-line: %v", err)
	}
	for i := 3; i <= maxMids; i++ {
		if _, err := pub.Answer(withVideo(base, fmt.Sprintf("r%d", i), true), nil); err != nil {
			t.Fatalf("recycling the rejected m-line as mid %d of %d: %v", i, maxMids, err)
		}
	}
	if _, err := pub.Answer(withVideo(base, "one-too-many", true), nil); !errors.Is(err, ErrInvalidSDP) {
		t.Errorf("mid %d: %v, want it refused", maxMids+1, err)
	}
	if _, err := pub.Answer(receivingOffer(t, maxMLines+1), nil); !errors.Is(err, ErrInvalidSDP) {
		t.Errorf("an offer of %d m-lines: %v, want it refused", maxMLines+1, err)
	}
	pub.mu.Lock()
	n := len(pub.pc.GetTransceivers())
	pub.mu.Unlock()
	if n > maxMids {
		t.Errorf("%d transceivers after the offers, want at most %d", n, maxMids)
	}
}

// audioVideoOffer is an offer of a Pion peer that sends audio (mid "0") and video
// (mid "1").
func audioVideoOffer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer.SDP, "a=group:BUNDLE 0 1\r\n") || !strings.Contains(offer.SDP, "a=mid:1\r\n") {
		t.Fatalf("unexpected offer:\n%s", offer.SDP)
	}
	return offer.SDP
}

// withVideo is the audio and video offer with its video m-line under mid, rejected
// (port 0, out of the bundle) or not.
func withVideo(offer, mid string, rejected bool) string {
	offer = strings.Replace(offer, "a=mid:1\r\n", "a=mid:"+mid+"\r\n", 1)
	if rejected {
		offer = strings.Replace(offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0", 1)
		return strings.Replace(offer, "m=video 9 ", "m=video 0 ", 1)
	}
	return strings.Replace(offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 "+mid, 1)
}

// receivingOffer is an offer of n m-lines that only receive video.
func receivingOffer(t *testing.T, n int) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for range n {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}
