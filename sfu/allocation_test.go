package sfu

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu/alloc"
)

// fixedEstimate is a bandwidth estimate a test sets; it keeps what the allocation
// last said of it (SetAmple).
type fixedEstimate struct {
	bps   atomic.Uint64
	ample atomic.Bool
}

func (f *fixedEstimate) Estimate() uint64    { return f.bps.Load() }
func (f *fixedEstimate) Sent(uint64)         {}
func (f *fixedEstimate) SetAmple(ample bool) { f.ample.Store(ample) }

// TestBandwidthPausesVideo: a subscriber whose estimate falls below what a video
// track needs is told it is paused for bandwidth and receives nothing of it; once
// the estimate has room again it is told so and the video flows again.
func TestBandwidthPausesVideo(t *testing.T) {
	rooms := newPionRooms(t, Config{})
	alice := joinPion(t, rooms, "bw", "alice", pionAPI(t, nil, nil), nil)
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice.publish(map[Source]webrtc.TrackLocal{SourceCamera: video})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); sendFramesLive(ctx, video) }() // about 450 kbit/s

	var received atomic.Uint64
	bob := joinPion(t, rooms, "bw", "bob", pionAPI(t, nil, nil), func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := track.Read(buf); err != nil {
				return
			}
			received.Add(1)
		}
	})
	est := &fixedEstimate{}
	est.bps.Store(2_000_000)
	bob.p.Subscriber().ops.do(func() { bob.p.Subscriber().bwe = est })

	waitLayer := func(paused bool, reason PauseReason) {
		t.Helper()
		var last TrackLayer
		pollUntil(t, 10*time.Second, func() (bool, string) {
			for {
				select {
				case last = <-bob.layers:
					continue
				default:
				}
				break
			}
			return last.Paused == paused && last.Reason == reason, fmt.Sprintf("last track-layer %+v, want paused %v for %q", last, paused, reason)
		})
	}
	flowing := func(want bool) {
		t.Helper()
		pollUntil(t, 10*time.Second, func() (bool, string) {
			before := received.Load()
			time.Sleep(500 * time.Millisecond)
			got := received.Load() - before
			return (got > 0) == want, fmt.Sprintf("%d packets in 500 ms, want flowing %v", got, want)
		})
	}
	ample := func(want bool) {
		t.Helper()
		pollUntil(t, 5*time.Second, func() (bool, string) {
			return est.ample.Load() == want, fmt.Sprintf("the allocation says the estimate is ample: %v, want %v", !want, want)
		})
	}
	waitLayer(false, PauseNone)
	flowing(true)
	ample(true) // 2 Mbit/s for one video: room to spare, so sparse feedback will do
	est.bps.Store(100_000)
	waitLayer(true, PauseBandwidth)
	flowing(false)
	ample(false)
	est.bps.Store(2_000_000)
	waitLayer(false, PauseNone)
	flowing(true)
	ample(true)
}

// TestLayerReportIsTheLayerForwarded: track-layer names the layer the down-track
// forwards, not the one it waits to switch to: the old one until the new one's
// keyframe arrives, then the new one; while a resumed track forwards nothing yet,
// the pause reported before stands.
func TestLayerReportIsTheLayerForwarded(t *testing.T) {
	root, layers, _ := newSimulcastTrack(t)
	d := newDownTrack(root)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: &payloadWriter{}}); err != nil {
		t.Fatal(err)
	}
	sub := &subscription{down: d}
	var pkt rtp.Packet
	report := func(dec alloc.Decision) string {
		t.Helper()
		d.SetLayer(dec.Layer)
		r, ok := layerReport(sub, dec)
		if !ok {
			return "(none)"
		}
		sub.reported = &r
		if r.Paused {
			return "paused " + string(r.Reason)
		}
		return r.Layer
	}
	layers[2].forward(&pkt, simPacket(t, 2, 1, 0, 1, true))
	layers[0].forward(&pkt, simPacket(t, 0, 1, 0, 1, false))
	var got []string
	got = append(got, report(alloc.Decision{Layer: 2}))
	got = append(got, report(alloc.Decision{Layer: 0})) // q is the target, f still forwarded
	layers[0].forward(&pkt, simPacket(t, 0, 2, 3000, 2, true))
	got = append(got, report(alloc.Decision{Layer: 0}))
	got = append(got, report(alloc.Decision{Layer: alloc.Paused, Reason: alloc.Bandwidth}))
	got = append(got, report(alloc.Decision{Layer: 0})) // resumed, waiting for a keyframe
	layers[0].forward(&pkt, simPacket(t, 0, 3, 6000, 3, true))
	got = append(got, report(alloc.Decision{Layer: 0}))
	if want := "[f f q paused bandwidth (none) q]"; fmt.Sprint(got) != want {
		t.Errorf("reports %v, want %s", got, want)
	}
}
