package sfu

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ntpToTime is the instant of a 64-bit NTP timestamp.
func ntpToTime(ntp uint64) time.Time {
	const unixToNTP = 2208988800
	secs := int64(ntp>>32) - unixToNTP
	nanos := int64((ntp & 0xffffffff) * uint64(time.Second) >> 32)
	return time.Unix(secs, nanos)
}

// captureClock sends audio and video as a capturing publisher would: RTP timestamps
// from one capture clock (with unrelated random bases, as each encoder picks its
// own), the capture instant in each payload, and sender reports that map both to
// the capture clock. Video leaves videoDelay after its capture (an encoder's and a
// pacer's delay), so that the time a packet leaves is no guide to its timestamp.
type captureClock struct {
	start              time.Time
	audioBase, vidBase uint32
	videoDelay         time.Duration
}

func (c *captureClock) rtpTime(at time.Time, clock, base uint32) uint32 {
	return base + uint32(at.Sub(c.start).Seconds()*float64(clock))
}

// run sends until ctx ends: 20 ms audio packets, 30 video frames a second (a
// keyframe every 10), and a sender report of each stream every 250 ms.
func (c *captureClock) run(ctx context.Context, pc *webrtc.PeerConnection, audio, video *webrtc.TrackLocalStaticRTP, audioSSRC, videoSSRC uint32) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var nextAudio, nextVideo, nextReport time.Time
	var seqA, seqV uint16
	frame := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		if now.After(nextAudio) {
			nextAudio = now.Add(20 * time.Millisecond)
			payload := make([]byte, 40)
			binary.BigEndian.PutUint64(payload, uint64(now.UnixNano()))
			seqA++
			_ = audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seqA,
				Timestamp: c.rtpTime(now, 48000, c.audioBase), Marker: true}, Payload: payload})
		}
		if now.After(nextVideo) {
			nextVideo = now.Add(time.Second / 30)
			captured := now.Add(-c.videoDelay)
			payload := make([]byte, 200)
			payload[0], payload[1] = 0x10, 0x01 // start of partition 0, an inter frame
			if frame%10 == 0 {
				payload[1] = 0x00
			}
			frame++
			binary.BigEndian.PutUint64(payload[2:], uint64(captured.UnixNano()))
			seqV++
			_ = video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seqV,
				Timestamp: c.rtpTime(captured, 90000, c.vidBase), Marker: true}, Payload: payload})
		}
		if now.After(nextReport) {
			nextReport = now.Add(250 * time.Millisecond)
			_ = pc.WriteRTCP([]rtcp.Packet{
				&rtcp.SenderReport{SSRC: audioSSRC, NTPTime: ntpTime(now), RTPTime: c.rtpTime(now, 48000, c.audioBase)},
				&rtcp.SenderReport{SSRC: videoSSRC, NTPTime: ntpTime(now), RTPTime: c.rtpTime(now, 90000, c.vidBase)},
			})
		}
	}
}

// syncProbe is what a subscriber sees of one received stream: the last sender
// report for it, and the last packet's timestamp and capture instant.
type syncProbe struct {
	mu       sync.Mutex
	clock    uint32
	srNTP    uint64
	srRTP    uint32
	reports  int
	ts       uint32
	captured time.Time
}

// skew is how far the last packet's timestamp, mapped to wall time by the last
// sender report, is from the packet's capture instant.
func (p *syncProbe) skew() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reports == 0 || p.captured.IsZero() {
		return 0, false
	}
	ticks := int64(int32(p.ts - p.srRTP))
	at := ntpToTime(p.srNTP).Add(time.Duration(ticks * int64(time.Second) / int64(p.clock)))
	return at.Sub(p.captured), true
}

func (p *syncProbe) read(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	go func() {
		for {
			pkts, _, err := recv.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				if sr, ok := pkt.(*rtcp.SenderReport); ok && sr.SSRC == uint32(track.SSRC()) {
					p.mu.Lock()
					p.srNTP, p.srRTP = sr.NTPTime, sr.RTPTime
					p.reports++
					p.mu.Unlock()
				}
			}
		}
	}()
	off := 0
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		off = 2
	}
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) < off+8 {
			continue
		}
		p.mu.Lock()
		p.ts = pkt.Timestamp
		p.captured = time.Unix(0, int64(binary.BigEndian.Uint64(pkt.Payload[off:])))
		p.mu.Unlock()
	}
}

// TestSenderReportsKeepLipSync: a publisher's video leaves 150 ms after its capture,
// and its sender reports say so; the subscriber's sender reports, one per down-track
// in the down-track's own timestamp space, map the audio and the video of one
// instant to the same NTP time, within 20 ms.
func TestSenderReportsKeepLipSync(t *testing.T) {
	rooms := newPionRooms(t, Config{})
	api := pionAPI(t, nil, nil)
	alice := joinPion(t, rooms, "sync", "alice", api, nil)
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "alice")
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "alice")
	if err != nil {
		t.Fatal(err)
	}
	senders := alice.publish(map[Source]webrtc.TrackLocal{SourceMicrophone: audio, SourceCamera: video})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	clk := &captureClock{start: time.Now(), audioBase: 123456789, vidBase: 3000000000, videoDelay: 150 * time.Millisecond}
	wg.Add(1)
	go func() {
		defer wg.Done()
		clk.run(ctx, alice.pub, audio, video, ssrcOf(senders[SourceMicrophone]), ssrcOf(senders[SourceCamera]))
	}()

	probes := map[webrtc.RTPCodecType]*syncProbe{
		webrtc.RTPCodecTypeAudio: {clock: 48000}, webrtc.RTPCodecTypeVideo: {clock: 90000},
	}
	joinPion(t, rooms, "sync", "bob", pionAPI(t, nil, func(_ *webrtc.MediaEngine, r *interceptor.Registry) error {
		return webrtc.ConfigureRTCPReports(r)
	}), func(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { probes[track.Kind()].read(track, recv) })

	pollUntil(t, 15*time.Second, func() (bool, string) {
		a, okA := probes[webrtc.RTPCodecTypeAudio].skew()
		v, okV := probes[webrtc.RTPCodecTypeVideo].skew()
		if !okA || !okV {
			return false, fmt.Sprintf("bob has no sender report and packet yet of audio (%v) or video (%v)", okA, okV)
		}
		if d := (a - v).Abs(); d > 20*time.Millisecond {
			return false, fmt.Sprintf("audio maps to %v from its capture, video to %v: %v apart", a, v, d)
		}
		return true, ""
	})
}

// pollUntil polls cond until it holds or timeout passes, then fails with cond's last
// explanation.
func pollUntil(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v: %s", timeout, why)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
