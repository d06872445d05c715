package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/wire"
)

// autoConfig is an auto room configuration for tests: promoted at 3, demoted at 2
// after a short delay.
func autoConfig() server.Config {
	return server.Config{AutoRooms: server.AutoRooms{PromoteAt: 3, DemoteAt: 2, DemoteAfter: 300 * time.Millisecond,
		SwitchTimeout: 10 * time.Second}}
}

// autoPeer is a peer in an auto room that records every event it gets.
type autoPeer struct {
	*peer
	mu     sync.Mutex
	events []client.Event
	done   chan struct{}
}

// joinAuto joins room over m asking for roomMode ("auto", or "" for whatever the
// room is), publishes a synthetic camera and microphone, and records events.
func joinAuto(t *testing.T, ts *testServer, m mode, room, name, roomMode string) *autoPeer {
	t.Helper()
	p := &peer{t: t, name: name, tracks: map[string]*receivedTrack{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.signalURL(m), room, name, client.Options{OnTrack: p.onTrack, HTTPClient: ts.client, Mode: roomMode})
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	p.Client = c
	ap := &autoPeer{peer: p, done: make(chan struct{})}
	go ap.record()
	t.Cleanup(func() { p.close(); <-ap.done })
	ap.publish()
	return ap
}

func (p *autoPeer) record() {
	defer close(p.done)
	for {
		select {
		case ev := <-p.Events():
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.mu.Unlock()
		case <-p.Done():
			return
		}
	}
}

// publish sends a synthetic camera and microphone on whichever side the client is.
func (p *autoPeer) publish() {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p.stopMedia = cancel
	video, err := client.NewVideoTrack("video", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	audio, err := client.NewAudioTrack("audio", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{video, audio} {
		source := map[webrtc.RTPCodecType]string{webrtc.RTPCodecTypeVideo: "camera", webrtc.RTPCodecTypeAudio: "microphone"}[tr.Kind()]
		pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := p.Publish(pctx, tr, source)
		pcancel()
		if err != nil {
			p.t.Fatalf("%s: publish %s: %v", p.name, source, err)
		}
		p.mediaDone.Add(1)
		go func() { defer p.mediaDone.Done(); client.SendSynthetic(ctx, tr, 300_000) }()
	}
}

// seen is the events of type typ p has had.
func (p *autoPeer) seen(typ string) []client.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []client.Event
	for _, ev := range p.events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// waitSwitched waits until the server has told p that switch epoch to mode is over.
func (p *autoPeer) waitSwitched(t *testing.T, mode string, epoch int) {
	t.Helper()
	waitFor(t, 20*time.Second, func() (bool, string) {
		for _, ev := range p.seen(wire.TypeSwitched) {
			if sw := ev.Switched(); sw.Epoch == epoch && sw.Mode == mode {
				return true, ""
			}
		}
		m, switching := p.AutoMode()
		return false, fmt.Sprintf("%s has no switched to %s (epoch %d): on the %s side, switching %v, events %v",
			p.name, mode, epoch, m, switching, p.seen(wire.TypeSwitch))
	})
}

// packetsVia is how many packets p has received from participant of kind by the
// mesh path (mesh) or the SFU's (not mesh): the client names a track received from
// a mesh peer "<peer>/<track>".
func (p *autoPeer) packetsVia(participant, kind string, mesh bool) uint64 {
	p.peer.mu.Lock()
	defer p.peer.mu.Unlock()
	var n uint64
	for id, rt := range p.tracks {
		if rt.info.Participant == participant && rt.info.Kind == kind && strings.Contains(id, "/") == mesh {
			n += rt.packets.Load()
		}
	}
	return n
}

// receivesVia waits until p has n more packets of each kind from each of others by
// the given path than it had when called.
func (p *autoPeer) receivesVia(t *testing.T, n uint64, mesh bool, others ...*autoPeer) {
	t.Helper()
	base := map[string]uint64{}
	for _, o := range others {
		for _, kind := range []string{"audio", "video"} {
			base[o.Self.ID+kind] = p.packetsVia(o.Self.ID, kind, mesh)
		}
	}
	path := map[bool]string{true: "peer to peer", false: "through the SFU"}[mesh]
	waitFor(t, 20*time.Second, func() (bool, string) {
		for _, o := range others {
			for _, kind := range []string{"audio", "video"} {
				if got := p.packetsVia(o.Self.ID, kind, mesh) - base[o.Self.ID+kind]; got < n {
					return false, fmt.Sprintf("%s has %d new %s packets from %s %s, want %d (client errors: %v)",
						p.name, got, kind, o.name, path, n, p.seen(client.TypeClientError))
				}
			}
		}
		return true, ""
	})
}

// leftSeen is the ids of the participant-left events p has had.
func (p *autoPeer) leftSeen() []string {
	var out []string
	for _, ev := range p.seen(wire.TypeParticipantLeft) {
		out = append(out, ev.Participant().ID)
	}
	return out
}

// serverConnections waits until the server holds want peer connections, by
// /healthz.
func serverConnections(t *testing.T, ts *testServer, want int) {
	t.Helper()
	waitFor(t, 15*time.Second, func() (bool, string) {
		n := healthzPeerConnections(t, ts)
		return n == want, fmt.Sprintf("/healthz reports %d peer connections, want %d", n, want)
	})
}

// TestAutoRoomPromotionAndDemotion: two participants of an auto room exchange media
// peer to peer, the server holding no peer connection; a third promotes the room,
// and all three get each other's media through the SFU, under the ids they had,
// nobody having seen anyone leave; when the third leaves, the room goes back to
// mesh and media flows peer to peer again. Over each transport, and mixed.
func TestAutoRoomPromotionAndDemotion(t *testing.T) {
	body := func(t *testing.T, ts *testServer, ma, mb, mc mode) {
		a := joinAuto(t, ts, ma, "call", "alice", "auto")
		b := joinAuto(t, ts, mb, "call", "bob", "")
		for _, p := range []*autoPeer{a, b} {
			if p.Mode != "mesh" {
				t.Fatalf("%s joined an auto room of 2 in mode %q, want mesh", p.name, p.Mode)
			}
		}
		a.receivesVia(t, 30, true, b)
		b.receivesVia(t, 30, true, a)
		serverConnections(t, ts, 0)

		c := joinAuto(t, ts, mc, "call", "carol", "")
		if c.Mode != "sfu" {
			t.Fatalf("the third joined in mode %q, want sfu", c.Mode)
		}
		a.waitSwitched(t, "sfu", 1)
		b.waitSwitched(t, "sfu", 1)
		serverConnections(t, ts, 6) // a publisher and a subscriber each
		for _, p := range []*autoPeer{a, b, c} {
			if n := p.MeshConnections(); n != 0 {
				t.Errorf("%s has %d mesh connections left after the switch", p.name, n)
			}
		}
		// Ids are those of the mesh room: media through the SFU is from them.
		a.receivesVia(t, 30, false, b, c)
		b.receivesVia(t, 30, false, a, c)
		c.receivesVia(t, 30, false, a, b)
		for _, p := range []*autoPeer{a, b, c} {
			if left := p.leftSeen(); len(left) != 0 {
				t.Errorf("%s saw participants %q leave during the promotion", p.name, left)
			}
		}

		leave(t, c.Client)
		a.waitSwitched(t, "mesh", 2)
		b.waitSwitched(t, "mesh", 2)
		serverConnections(t, ts, 0)
		a.receivesVia(t, 30, true, b)
		b.receivesVia(t, 30, true, a)
		for _, p := range []*autoPeer{a, b} {
			for _, id := range p.leftSeen() {
				if id != c.Self.ID {
					t.Errorf("%s saw %s leave, who is still in the call", p.name, id)
				}
			}
		}
	}
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, autoConfig())
		body(t, ts, m, m, m)
	})
	t.Run("mixed", func(t *testing.T) {
		ts := startServerWith(t, modeWS, autoConfig())
		body(t, ts, modeWS, modeSSE, modeWS)
	})
}

// leave sends leave and waits for the server to close the connection.
func leave(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
}
