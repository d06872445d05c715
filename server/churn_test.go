package server_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// TestChurn runs 200 cycles of a Pion client joining, publishing synthetic VP8 and
// Opus until the server receives both, and leaving (every other one without a
// goodbye), four at a time, two to a room, so that they also subscribe to each other.
// Afterwards the server is back where it started: no rooms, no open peer
// connections, no more goroutines than before (with a little slack), and a heap no
// more than maxChurnHeapGrowth larger.
func TestChurn(t *testing.T) {
	const cycles, workers = 200, 4
	ts := startServer(t)
	baseGoroutines := runtime.NumGoroutine()
	baseHeap := heapInUse()

	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := fmt.Sprintf("churn-%d", w/2)
			for {
				n := next.Add(1)
				if n > cycles {
					return
				}
				if err := churnCycle(ts, room, int(n)); err != nil {
					errs <- fmt.Errorf("cycle %d: %w", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d cycles in %v", cycles, time.Since(start).Round(time.Millisecond))

	ts.client.CloseIdleConnections()
	waitFor(t, 30*time.Second, func() (bool, string) {
		rooms, conns, g := ts.Rooms().Len(), ts.OpenConnections(), runtime.NumGoroutine()
		return rooms == 0 && conns == 0 && g <= baseGoroutines+5,
			fmt.Sprintf("%d rooms, %d open peer connections, %d goroutines (%d before the churn)", rooms, conns, g, baseGoroutines)
	})
	heap := heapInUse()
	t.Logf("heap in use: %.1f MiB before the churn, %.1f MiB after (%+.1f MiB)",
		float64(baseHeap)/(1<<20), float64(heap)/(1<<20), (float64(heap)-float64(baseHeap))/(1<<20))
	if heap > baseHeap+maxChurnHeapGrowth {
		t.Errorf("the heap grew by %.1f MiB over %d cycles, more than %d MiB: something a cycle made outlived it",
			(float64(heap)-float64(baseHeap))/(1<<20), cycles, maxChurnHeapGrowth>>20)
	}
}

// maxChurnHeapGrowth bounds the heap's growth over TestChurn's 200 cycles. It grows
// by about 2 MiB (caches, pools, the race detector's shadow of them); a leak of
// 160 KiB or more per cycle goes over.
const maxChurnHeapGrowth = 32 << 20

// churnCycle joins room, publishes audio and video, waits until the server has
// received both, and leaves: with leave on even cycles, by dropping the connection on
// odd ones.
func churnCycle(ts *testServer, room string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.WSURL, room, fmt.Sprint("churner-", n), client.Options{HTTPClient: ts.client})
	if err != nil {
		return err
	}
	defer c.Close()
	mediaCtx, stopMedia := context.WithCancel(ctx)
	var media sync.WaitGroup
	defer media.Wait()
	defer stopMedia()
	video, err := client.NewVideoTrack("video", "churn")
	if err != nil {
		return err
	}
	audio, err := client.NewAudioTrack("audio", "churn")
	if err != nil {
		return err
	}
	for _, tr := range []struct {
		track  trackLocal
		source string
	}{{video, "camera"}, {audio, "microphone"}} {
		if _, err := c.Publish(ctx, tr.track, tr.source); err != nil {
			return fmt.Errorf("publish %s: %w", tr.source, err)
		}
		media.Add(1)
		go func() { defer media.Done(); client.SendSynthetic(mediaCtx, tr.track, 200_000) }()
	}
	if err := waitUntil(ctx, func() bool { return publishedTracks(ts, room, c.Self.ID) == 2 }); err != nil {
		return fmt.Errorf("the server did not receive both tracks: %w", err)
	}
	stopMedia()
	if n%2 == 0 {
		return c.Leave(ctx)
	}
	return nil // the deferred Close drops the connection without a goodbye
}

type trackLocal = *webrtc.TrackLocalStaticRTP

// publishedTracks is how many tracks the server has received from participant id.
func publishedTracks(ts *testServer, room, id string) int {
	r := ts.Rooms().Room(sfu.RoomID(room))
	if r == nil {
		return 0
	}
	for _, p := range r.Participants() {
		if string(p.ID) == id {
			return len(p.Tracks)
		}
	}
	return 0
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// heapInUse is the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
