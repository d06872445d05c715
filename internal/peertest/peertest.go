// Package peertest is a Pion participant for tests of programs that embed
// Switchboard (the examples): it joins a room through the native client, publishes
// synthetic audio and video and counts what it receives.
package peertest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Peer is one participant; it leaves when the test ends.
type Peer struct {
	*client.Client
	name string

	mu      sync.Mutex
	packets map[string]*atomic.Uint64 // by participant id + "/" + kind

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Join joins room at url (ws: for WebSocket, http: for SSE), making HTTP requests
// with hc (nil: the default client).
func Join(t testing.TB, url, room, name string, hc *http.Client) *Peer {
	t.Helper()
	p := &Peer{name: name, packets: map[string]*atomic.Uint64{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, url, room, name, client.Options{OnTrack: p.onTrack, HTTPClient: hc})
	if err != nil {
		t.Fatalf("%s: join %s: %v", name, url, err)
	}
	p.Client = c
	t.Cleanup(p.close)
	return p
}

func (p *Peer) onTrack(info wire.Track, track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := info.Participant + "/" + info.Kind
	p.mu.Lock()
	n := p.packets[key]
	if n == nil {
		n = &atomic.Uint64{}
		p.packets[key] = n
	}
	p.mu.Unlock()
	buf := make([]byte, 1500)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
		n.Add(1)
	}
}

// PublishAV publishes a synthetic camera and microphone until the test ends.
func (p *Peer) PublishAV(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	video, err := client.NewVideoTrack("video", p.name)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := client.NewAudioTrack("audio", p.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []struct {
		track  *webrtc.TrackLocalStaticRTP
		source string
	}{{video, "camera"}, {audio, "microphone"}} {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		sender, err := p.Publish(rctx, tr.track, tr.source)
		rcancel()
		if err != nil {
			t.Fatalf("%s: publish %s: %v", p.name, tr.source, err)
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); client.SendSynthetic(ctx, tr.track, 300_000) }()
		go func() {
			defer p.wg.Done()
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
}

// Received is how many packets of kind ("audio", "video") p has from participant.
func (p *Peer) Received(participant, kind string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.packets[participant+"/"+kind]; n != nil {
		return n.Load()
	}
	return 0
}

// WaitReceives waits until p has at least n packets of each kind from other.
func (p *Peer) WaitReceives(t testing.TB, n uint64, other *Peer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		why := ""
		for _, kind := range []string{"audio", "video"} {
			if got := p.Received(other.Self.ID, kind); got < n && why == "" {
				why = fmt.Sprintf("%s has %d %s packets from %s, want %d", p.name, got, kind, other.name, n)
			}
		}
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up: %s", why)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *Peer) close() {
	if p.stop != nil {
		p.stop()
	}
	p.Client.Close()
	p.wg.Wait()
}
