package sfu

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"
)

// seedOffer is an offer as a Pion client makes it, sending audio and video.
func seedOffer(f *testing.F) string {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	defer pc.Close()
	for _, c := range []webrtc.RTPCodecCapability{{MimeType: webrtc.MimeTypeOpus}, {MimeType: webrtc.MimeTypeVP8}} {
		track, err := webrtc.NewTrackLocalStaticRTP(c, c.MimeType, "seed")
		if err != nil {
			f.Fatal(err)
		}
		if _, err := pc.AddTrack(track); err != nil {
			f.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		f.Fatal(err)
	}
	return o.SDP
}

// FuzzPublisherOffer applies arbitrary offers to a participant's publisher
// connection, as the native protocol's publish-offer and WHIP do. A refused offer is
// an ErrInvalidSDP; an accepted one gets an answer that parses; nothing panics, and
// the participant leaves cleanly.
func FuzzPublisherOffer(f *testing.F) {
	f.Add(seedOffer(f))
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n")
	engine, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	rooms := NewRooms(engine)
	f.Fuzz(func(t *testing.T, offerSDP string) {
		p, err := rooms.Join("r", "fuzz", Observers{Connection: &recorder{offers: make(chan offer, 16)}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			p.Leave()
			if n := rooms.Len(); n != 0 {
				t.Fatalf("%d rooms left after leaving", n)
			}
		}()
		answer, err := p.Publisher().Answer(offerSDP, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidSDP) {
				t.Fatalf("offer refused with %v, not ErrInvalidSDP", err)
			}
			return
		}
		if _, err := (&webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}).Unmarshal(); err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
	})
}

// FuzzSubscriberAnswer applies arbitrary answers to a subscriber connection's
// outstanding offer (audio and video), as the native protocol's subscribe-answer and
// sfu-ws do. A refused answer is an ErrInvalidSDP; nothing panics, and the connection
// closes cleanly.
func FuzzSubscriberAnswer(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n" +
		"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:active\r\n" +
		"a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\n")
	f.Fuzz(func(t *testing.T, answerSDP string) {
		s, rec := newTestSubscriber(t)
		s.add(publishedTrack("v", webrtc.RTPCodecTypeVideo))
		s.add(publishedTrack("a", webrtc.RTPCodecTypeAudio))
		nextOffer(t, rec)
		if err := s.Answer(answerSDP); err != nil && !errors.Is(err, ErrInvalidSDP) {
			t.Fatalf("answer refused with %v, not ErrInvalidSDP", err)
		}
	})
}
