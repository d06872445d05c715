package server_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/auto"
	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/webhook"
	"github.com/switchboard-rtc/switchboard/wire"
)

// autoConfig is an auto room configuration for tests: promoted at 3, demoted at 2
// after a short delay.
func autoConfig() server.Config {
	return server.Config{AutoRooms: server.AutoRooms{PromoteAt: 3, DemoteAt: 2, DemoteAfter: 300 * time.Millisecond,
		SwitchTimeout: 10 * time.Second}}
}

// fixedClientConfig is autoConfig promoting at 4: two participants and a client
// that cannot do mesh stay below it.
func fixedClientConfig() server.Config {
	cfg := autoConfig()
	cfg.AutoRooms.PromoteAt = 4
	return cfg
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Leave(ctx); err != nil {
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2) // a hang: where every goroutine waits
		t.Fatalf("leave: %v", err)
	}
}

// TestAutoRoomWHIPPromotesAtOnce: a WHIP publisher into an auto room that is mesh
// promotes it at once, below the threshold; its participants get its media through
// the SFU, and the room is not demoted while it is in, only once it has left.
func TestAutoRoomWHIPPromotesAtOnce(t *testing.T) {
	ts := startServerWith(t, modeWS, fixedClientConfig())
	a := joinAuto(t, ts, modeWS, "call", "alice", "auto")
	b := joinAuto(t, ts, modeWS, "call", "bob", "")
	a.receivesVia(t, 10, true, b)
	pub := publishWHIP(t, ts, "call", 300_000, false)
	a.waitSwitched(t, "sfu", 1)
	b.waitSwitched(t, "sfu", 1)
	var whip string
	waitFor(t, 15*time.Second, func() (bool, string) {
		for _, p := range []*autoPeer{a, b} {
			whip = ""
			for _, tr := range p.ReceivingTracks() {
				if tr.Participant != a.Self.ID && tr.Participant != b.Self.ID {
					whip = tr.Participant
				}
			}
			if whip == "" {
				return false, p.name + " receives no track of the WHIP publisher"
			}
			if n := p.packetsVia(whip, "video", false); n < 30 {
				return false, fmt.Sprintf("%s has %d video packets from the WHIP publisher", p.name, n)
			}
		}
		return true, ""
	})
	// Two natives: small enough to demote, but for the WHIP publisher, and no
	// demotion is pending. (package auto's TestFixedSeats shows that none comes.)
	if st := ts.AutoRooms().Room("call").State(); st != (auto.State{Mode: "sfu", Epoch: 1, Seats: 3, Fixed: 1}) {
		t.Fatalf("auto room with a WHIP publisher: %+v", st)
	}
	pub.delete()
	a.waitSwitched(t, "mesh", 2)
	b.waitSwitched(t, "mesh", 2)
	a.receivesVia(t, 10, true, b)
}

// TestAutoRoomLeaveOverRate: a participant over its message rate (an auto room's
// switches make its client send answers, candidates and switched in bursts) that
// leaves is let go at once, on every transport: its connection closes, and the
// others are told it left.
func TestAutoRoomLeaveOverRate(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, server.Config{AutoRooms: autoConfig().AutoRooms,
			Limits: server.Limits{MessagesPerSecond: 1, MessageBurst: 5}})
		join := func(name string) *client.Client {
			c, err := tryJoin(ts, m, "over", name, "auto")
			if err != nil {
				t.Fatalf("%s: join: %v", name, err)
			}
			t.Cleanup(c.Close)
			return c
		}
		b, a := join("bob"), join("alice")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for range 8 { // at most the burst of five served, the rest refused
			if err := a.Send(ctx, wire.TypePing, nil); err != nil {
				t.Fatal(err)
			}
		}
		if ev, _ := nextOf(t, a, wire.TypeError); ev.Error().Code != wire.CodeRateLimited {
			t.Fatalf("alice over her rate: %+v, want error rate-limited", ev.Error())
		}
		leave(t, a)
		for {
			if ev, _ := nextOf(t, b, wire.TypeParticipantLeft); ev.Participant().ID == a.Self.ID {
				break
			}
		}
	})
}

// TestAutoRoomChurn runs 100 cycles of a third participant joining an auto room of
// two, with media, and leaving: each crosses the promotion threshold and, once it
// has left, the demotion one (every fourth leaves during the promotion, every third
// without a goodbye). Afterwards the server is back where it started: no rooms, no
// peer connections, no more goroutines than before.
func TestAutoRoomChurn(t *testing.T) {
	const cycles = 100
	cfg := autoConfig()
	cfg.AutoRooms.DemoteAfter = 20 * time.Millisecond
	ts := startServerWith(t, modeWS, cfg)
	baseGoroutines := runtime.NumGoroutine()
	a, b := joinQuiet(t, ts, "alice"), joinQuiet(t, ts, "bob")
	settled := func(mode string) func() (bool, string) {
		return func() (bool, string) {
			for _, p := range []*client.Client{a, b} {
				if m, switching := p.AutoMode(); m != mode || switching {
					return false, fmt.Sprintf("%s is on the %s side, switching %v; want %s", p.Self.Name, m, switching, mode)
				}
			}
			return true, ""
		}
	}
	start := time.Now()
	for n := range cycles {
		c := joinAuto(t, ts, modeWS, "churn", fmt.Sprintf("carol-%d", n), "")
		if n%4 != 0 {
			waitFor(t, 15*time.Second, settled("sfu"))
		}
		if n%3 != 0 {
			leave(t, c.Client)
		}
		c.close()
		waitFor(t, 15*time.Second, settled("mesh"))
	}
	t.Logf("%d cycles in %v", cycles, time.Since(start).Round(time.Millisecond))
	leave(t, a)
	leave(t, b)
	ts.client.CloseIdleConnections()
	waitFor(t, 30*time.Second, func() (bool, string) {
		sfuSides, meshSides := ts.AutoRooms().Sides()
		rooms, conns, g := ts.AutoRooms().Len()+sfuSides+meshSides+ts.Rooms().Len(), ts.OpenConnections(), runtime.NumGoroutine()
		return rooms == 0 && conns == 0 && g <= baseGoroutines+5,
			fmt.Sprintf("%d rooms, %d open peer connections, %d goroutines (%d before the churn)", rooms, conns, g, baseGoroutines)
	})
}

// joinQuiet joins the auto room "churn" without media.
func joinQuiet(t *testing.T, ts *testServer, name string) *client.Client {
	t.Helper()
	c, err := tryJoin(ts, modeWS, "churn", name, "auto")
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestAutoRoomModes: which joins reach an auto room. mode "auto" creates one; a join
// naming no mode joins it as it is; sfu and mesh joins are refused (mode-mismatch),
// as an auto join is into a room of another mode. Configured names are auto rooms
// for joins naming no mode, and for WHIP.
func TestAutoRoomModes(t *testing.T) {
	cfg := autoConfig()
	cfg.AutoRooms.Patterns = []string{"call-*"}
	ts := startServerWith(t, modeWS, cfg)
	join := func(room, roomMode string) (*client.Client, error) {
		c, err := tryJoin(ts, modeWS, room, "someone", roomMode)
		if err == nil {
			t.Cleanup(c.Close)
		}
		return c, err
	}
	a, err := join("huddle", "auto")
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != "mesh" {
		t.Errorf("new auto room: joined in mode %q, want mesh", a.Mode)
	}
	if b, err := join("huddle", ""); err != nil || b.Mode != "mesh" {
		t.Errorf("join naming no mode of an auto room: %v, mode %q; want mesh", err, b.Mode)
	}
	for _, m := range []string{"sfu", "mesh"} {
		if _, err := join("huddle", m); err == nil || !strings.Contains(err.Error(), wire.CodeModeMismatch) {
			t.Errorf("%s join of an auto room: %v, want %s", m, err, wire.CodeModeMismatch)
		}
	}
	if _, err := join("plain", "sfu"); err != nil {
		t.Fatal(err)
	}
	if _, err := join("plain", "auto"); err == nil || !strings.Contains(err.Error(), wire.CodeModeMismatch) {
		t.Errorf("auto join of an SFU room: %v, want %s", err, wire.CodeModeMismatch)
	}
	if c, err := join("call-1", ""); err != nil || c.Mode != "mesh" || ts.AutoRooms().Room("call-1") == nil {
		t.Errorf("join naming no mode of a configured auto room: %v; want an auto room", err)
	}
	if _, err := join("call-2", "sfu"); err == nil || !strings.Contains(err.Error(), wire.CodeModeMismatch) {
		t.Errorf("sfu join of a configured auto room: %v, want %s", err, wire.CodeModeMismatch)
	}
	// WHIP creates a configured auto room, on its SFU side at once.
	publishWHIP(t, ts, "call-3", 100_000, false)
	if r := ts.AutoRooms().Room("call-3"); r == nil || r.State().Mode != "sfu" {
		t.Errorf("auto room created by WHIP: %v, want one in mode sfu", r)
	}
}

// TestAutoRoomModeClaim: on a server with join tokens, creating an auto room outside
// the configured names needs a token whose mode claim is "auto" or "mesh"; "auto"
// does not let its holder create a mesh room.
func TestAutoRoomModeClaim(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret},
		AutoRooms: server.AutoRooms{Patterns: []string{"call-*"}}})
	token := func(room, identity, claim string) string {
		c := auth.NewClaims(room, identity, "", allGrants, time.Minute)
		c.Mode = claim
		return mintClaims(t, c)
	}
	join := func(room, identity, roomMode, claim string) error {
		c, err := tryJoinWith(ts, modeWS, room, identity, roomMode, token(room, identity, claim))
		if err == nil {
			t.Cleanup(c.Close)
		}
		return err
	}
	if err := join("huddle", "guest", "auto", ""); err == nil || !strings.Contains(err.Error(), wire.CodeForbidden) {
		t.Fatalf("auto join creating a room without the mode claim: %v, want forbidden", err)
	}
	if ts.AutoRooms().Len() != 0 {
		t.Fatal("a refused auto join created an auto room")
	}
	for claim, room := range map[string]string{auth.ModeAuto: "huddle", auth.ModeMesh: "standup"} {
		if err := join(room, "host", "auto", claim); err != nil {
			t.Errorf("auto join creating a room with the mode claim %q: %v", claim, err)
		}
	}
	if err := join("huddle", "guest", "", ""); err != nil {
		t.Errorf("joining an auto room that exists, without the claim: %v", err)
	}
	if err := join("call-1", "guest", "", ""); err != nil {
		t.Errorf("creating a configured auto room without the claim: %v", err)
	}
	if err := join("p2p", "host", "mesh", auth.ModeAuto); err == nil || !strings.Contains(err.Error(), wire.CodeForbidden) {
		t.Errorf("mesh join creating a room with the mode claim auto: %v, want forbidden", err)
	}
}

// TestAutoRoomWHEPViewer: a WHEP viewer of an auto room that is mesh promotes it,
// and its answer comes once the participants are on the SFU side: it receives their
// media. Once it has left, the room is demoted.
func TestAutoRoomWHEPViewer(t *testing.T) {
	ts := startServerWith(t, modeWS, fixedClientConfig())
	a := joinAuto(t, ts, modeWS, "call", "alice", "auto")
	b := joinAuto(t, ts, modeWS, "call", "bob", "")
	a.receivesVia(t, 10, true, b)
	v := watchWHEP(t, ts, "/whep/call")
	waitFor(t, 15*time.Second, func() (bool, string) {
		vid, aud := v.videoCount.Load(), v.audioCount.Load()
		return vid >= 30 && aud >= 30, fmt.Sprintf("the viewer has %d video and %d audio packets", vid, aud)
	})
	a.waitSwitched(t, "sfu", 1)
	v.delete()
	a.waitSwitched(t, "mesh", 2)
	b.waitSwitched(t, "mesh", 2)
}

// TestAutoRoomSFUWSClient: an sfu-ws client in an auto room that is mesh promotes
// it, and gets the participants' media through the SFU.
func TestAutoRoomSFUWSClient(t *testing.T) {
	ts := startServerWith(t, modeWS, fixedClientConfig())
	a := joinAuto(t, ts, modeWS, "call", "alice", "auto")
	b := joinAuto(t, ts, modeWS, "call", "bob", "")
	a.receivesVia(t, 10, true, b)
	legacy := joinSFUWS(t, "ws"+strings.TrimPrefix(ts.URL, "http")+"/compat/sfu-ws?room=call")
	a.waitSwitched(t, "sfu", 1)
	waitFor(t, 15*time.Second, func() (bool, string) {
		for _, p := range []*autoPeer{a, b} {
			if n := legacy.received(p.Self.ID, "video"); n < 30 {
				return false, fmt.Sprintf("the sfu-ws client has %d video packets from %s", n, p.name)
			}
		}
		return true, ""
	})
}

// TestAutoRoomDrainAndMetrics: a drain waits for the participants of auto rooms, and
// the metrics count auto rooms and their participants.
func TestAutoRoomDrainAndMetrics(t *testing.T) {
	ts := startServerWith(t, modeWS, autoConfig())
	sc := newScraper(t, ts)
	a := joinQuiet(t, ts, "alice")
	waitFor(t, 10*time.Second, func() (bool, string) {
		mfs := sc.scrape()
		rooms, n := mfs.value("switchboard_rooms", "kind", "auto"), mfs.value("switchboard_participants", "kind", "auto", "transport", "websocket")
		return rooms == 1 && n == 1, fmt.Sprintf("metrics: %v auto rooms, %v participants over websocket; want 1, 1", rooms, n)
	})
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- ts.Drain(ctx)
	}()
	// The drain is over once alice has left, not before: she is the one in a call.
	nextOf(t, a, wire.TypeDraining)
	select {
	case err := <-drained:
		t.Fatalf("the drain ended (%v) with a participant in an auto room", err)
	default:
	}
	leave(t, a)
	if err := <-drained; err != nil {
		t.Fatalf("drain: %v", err)
	}
}

// TestAutoRoomAdmin: the admin API lists an auto room with its mode now, shows the
// participants of both its sides, removes one (from every side it is in) and
// closes the room.
func TestAutoRoomAdmin(t *testing.T) {
	cfg := autoConfig()
	cfg.APIKeys = map[string]string{apiKey: apiSecret}
	ts := startServerWith(t, modeWS, cfg)
	admin := adminToken(t)
	var cs []*client.Client
	for _, name := range []string{"alice", "bob", "carol"} {
		claims := auth.NewClaims("call", name, "", allGrants, time.Minute)
		claims.Mode = auth.ModeAuto
		c, err := tryJoinWith(ts, modeWS, "call", name, "auto", mintClaims(t, claims))
		if err != nil {
			t.Fatalf("%s: join: %v", name, err)
		}
		t.Cleanup(c.Close)
		cs = append(cs, c)
	}
	waitFor(t, 15*time.Second, func() (bool, string) {
		status, body := adminCall(t, ts, "GET", "/v1/admin/rooms", admin)
		rooms, _ := body["rooms"].([]any)
		if status != 200 || len(rooms) != 1 {
			return false, fmt.Sprintf("rooms: %d %v", status, body)
		}
		r, _ := rooms[0].(map[string]any)
		return r["mode"] == "auto" && r["current"] == "sfu" && r["participants"] == 3.0, fmt.Sprintf("rooms: %v", body)
	})
	status, body := adminCall(t, ts, "GET", "/v1/admin/rooms/call", admin)
	if ps, _ := body["participants"].([]any); status != 200 || len(ps) != 3 || body["mode"] != "auto" {
		t.Fatalf("GET room: %d %v, want the 3 participants of an auto room", status, body)
	}
	if status, body := adminCall(t, ts, "DELETE", "/v1/admin/rooms/call/participants/"+cs[1].Self.ID, admin); status != 200 {
		t.Fatalf("DELETE participant: %d %v", status, body)
	}
	select {
	case <-cs[1].Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the removed participant is still connected")
	}
	if status, _ := adminCall(t, ts, "DELETE", "/v1/admin/rooms/call/participants/"+cs[1].Self.ID, admin); status != 404 {
		t.Errorf("DELETE of a participant removed: %d, want 404", status)
	}
	if status, body := adminCall(t, ts, "DELETE", "/v1/admin/rooms/call", admin); status != 200 || body["removed"] != 2.0 {
		t.Fatalf("DELETE room: %d %v, want 2 removed", status, body)
	}
	for _, c := range []*client.Client{cs[0], cs[2]} {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s is still connected after the room was closed", c.Self.Name)
		}
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		return ts.AutoRooms().Len() == 0, "the closed auto room is still there"
	})
}

// TestAutoRoomWebhooks: an auto room is reported as one room of kind auto: started
// with its first participant, each participant joining and leaving once however the
// room switches, finished after the last.
func TestAutoRoomWebhooks(t *testing.T) {
	rv := &hookReceiver{}
	cfg := autoConfig()
	cfg.Webhooks = webhook.Config{URLs: []string{startReceiver(t, rv)}}
	ts := startServerWith(t, modeWS, cfg)
	var cs []*client.Client
	for _, name := range []string{"alice", "bob", "carol"} {
		c, err := tryJoin(ts, modeWS, "call", name, "auto")
		if err != nil {
			t.Fatalf("%s: join: %v", name, err)
		}
		t.Cleanup(c.Close)
		cs = append(cs, c)
	}
	waitFor(t, 15*time.Second, func() (bool, string) {
		st := ts.AutoRooms().Room("call").State()
		return st.Mode == "sfu" && !st.Switching, fmt.Sprintf("room state %+v", st)
	})
	for _, c := range cs {
		leave(t, c)
	}
	got := describe(rv.waitFinished(t, "call"))
	want := "room_started participant_joined/alice participant_joined/bob participant_joined/carol " +
		"participant_left/alice participant_left/bob participant_left/carol room_finished"
	if got != want {
		t.Errorf("webhooks of an auto room:\n got %s\nwant %s", got, want)
	}
	for _, e := range rv.inRoom("call") {
		if e.Room.Kind != "auto" {
			t.Errorf("%s: room kind %q, want auto", e.Type, e.Room.Kind)
		}
	}
	rv.check(t)
}
