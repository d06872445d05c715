package sfu

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// fixedEstimate is a bandwidth estimate a test sets.
type fixedEstimate struct{ bps atomic.Uint64 }

func (f *fixedEstimate) Estimate() uint64 { return f.bps.Load() }

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
	waitLayer(false, PauseNone)
	flowing(true)
	est.bps.Store(100_000)
	waitLayer(true, PauseBandwidth)
	flowing(false)
	est.bps.Store(2_000_000)
	waitLayer(false, PauseNone)
	flowing(true)
}
