package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/wire"
)

// joinMesh joins room in mesh mode over the server's transport.
func joinMesh(t *testing.T, ts *testServer, room, name string) *client.Client {
	t.Helper()
	c, err := tryJoin(ts, ts.mode, room, name, "mesh")
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	t.Cleanup(c.Close)
	if c.Mode != "mesh" {
		t.Fatalf("%s joined a room of mode %q, want mesh", name, c.Mode)
	}
	return c
}

// tryJoin joins room over m asking for mode ("" for the server's choice).
func tryJoin(ts *testServer, m mode, room, name, roomMode string) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Join(ctx, ts.signalURL(m), room, name, client.Options{HTTPClient: ts.client, Mode: roomMode})
}

// relayData is the payload the tests relay.
type relayData struct {
	Seq  int    `json:"seq"`
	Note string `json:"note"`
	From string `json:"from,omitempty"` // a sender's attempt to name another sender
}

// nextOf waits for the next event of c of type typ and returns it with the events of
// other types that came before it.
func nextOf(t *testing.T, c *client.Client, typ string) (client.Event, []client.Event) {
	t.Helper()
	var skipped []client.Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.Events():
			if m.Type == typ {
				return m, skipped
			}
			skipped = append(skipped, m)
		case <-c.Done():
			t.Fatalf("connection ended (%v) while waiting for %s; got %+v", c.Err(), typ, skipped)
		case <-timeout:
			t.Fatalf("no %s within 10 s; got %+v", typ, skipped)
		}
	}
}

// relaysUntil collects the relays c receives until the one whose note is marker.
func relaysUntil(t *testing.T, c *client.Client, marker string) []wire.Relayed {
	t.Helper()
	var got []wire.Relayed
	for {
		m, _ := nextOf(t, c, "relay")
		var d relayData
		if err := json.Unmarshal(m.Relayed().Data, &d); err != nil {
			t.Fatalf("relay data %s: %v", m.Relayed().Data, err)
		}
		if d.Note == marker {
			return got
		}
		got = append(got, m.Relayed())
	}
}

func relay(t *testing.T, c *client.Client, to string, d relayData) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Relay(ctx, to, d); err != nil {
		t.Fatalf("relay: %v", err)
	}
}

// TestRelayReachesOnlyTheTarget: in a room of three, a relay reaches its target,
// stamped with its sender, and nobody else.
func TestRelayReachesOnlyTheTarget(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, server.Config{})
		a := joinMesh(t, ts, "trio", "alice")
		b := joinMesh(t, ts, "trio", "bob")
		c := joinMesh(t, ts, "trio", "carol")
		relay(t, a, b.Self.ID, relayData{Seq: 1, Note: "for bob"})
		// Alice's relays are handled in order: once carol has the marker sent after
		// bob's, bob's would have reached her before it.
		relay(t, a, c.Self.ID, relayData{Seq: 2, Note: "marker"})
		if got := relaysUntil(t, c, "marker"); len(got) != 0 {
			t.Errorf("carol got %+v before the marker, relays for bob", got)
		}
		relay(t, a, b.Self.ID, relayData{Seq: 3, Note: "marker"})
		got := relaysUntil(t, b, "marker")
		if len(got) != 1 || got[0].From != a.Self.ID || !strings.Contains(string(got[0].Data), `"for bob"`) {
			t.Fatalf("bob got %+v, want one relay from alice (%s)", got, a.Self.ID)
		}
		// Alice, the sender, gets nothing back.
		relay(t, b, a.Self.ID, relayData{Note: "marker"})
		if got := relaysUntil(t, a, "marker"); len(got) != 0 {
			t.Errorf("alice got %+v", got)
		}
	})
}

// TestMeshRelay: a relay's sender is the server's to say: a client-supplied from is
// ignored, and the data arrives unchanged. A relay to an unknown peer is an error
// to its sender only, carrying the request id.
func TestMeshRelay(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, server.Config{})
		a := joinMesh(t, ts, "spoof", "alice")
		b := joinMesh(t, ts, "spoof", "bob")
		c := joinMesh(t, ts, "spoof", "carol")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		frame := fmt.Sprintf(`{"type":"relay","to":%q,"from":%q,"data":{"seq":1,"note":"forged","from":%q}}`,
			b.Self.ID, c.Self.ID, c.Self.ID)
		if err := a.SendRaw(ctx, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		relay(t, a, b.Self.ID, relayData{Note: "marker"})
		got := relaysUntil(t, b, "marker")
		if len(got) != 1 || got[0].From != a.Self.ID {
			t.Fatalf("bob got %+v, want one relay stamped from alice %s (not carol %s)", got, a.Self.ID, c.Self.ID)
		}
		if want := fmt.Sprintf(`{"seq":1,"note":"forged","from":%q}`, c.Self.ID); string(got[0].Data) != want {
			t.Errorf("data arrived as %s, want %s", got[0].Data, want)
		}

		reply, err := a.Request(ctx, wire.TypeRelay, wire.Relay{To: "p_nobody", Data: json.RawMessage(`{}`)})
		if err != nil || reply.Type != "error" || reply.Error().Code != "unknown-peer" || reply.Error().Message == "" {
			t.Fatalf("relay to nobody: %+v, %v; want error unknown-peer with re", reply, err)
		}
		reply, err = a.Request(ctx, wire.TypeRelay, wire.Relay{To: a.Self.ID, Data: json.RawMessage(`{}`)})
		if err != nil || reply.Error().Code != "unknown-peer" {
			t.Fatalf("relay to oneself: %+v, %v; want error unknown-peer", reply, err)
		}
		// Nobody else heard of it.
		for _, o := range []*client.Client{b, c} {
			relay(t, a, o.Self.ID, relayData{Note: "marker"})
			_, before := nextOf(t, o, "relay")
			for _, e := range before {
				if e.Type == "error" {
					t.Errorf("%s got %+v, an error for alice", o.Self.Name, e)
				}
			}
		}
	})
}

// TestMeshMembership: a joiner gets mode and the peers present; the others are
// told of its arrival and departure; chat is broadcast as in SFU rooms.
func TestMeshMembership(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, server.Config{})
		a := joinMesh(t, ts, "members", "alice")
		if len(a.Present) != 0 {
			t.Errorf("alice joined an empty room with %+v present", a.Present)
		}
		b := joinMesh(t, ts, "members", "bob")
		if len(b.Present) != 1 || b.Present[0].ID != a.Self.ID || b.Present[0].Name != "alice" {
			t.Errorf("bob joined with %+v present, want alice %s", b.Present, a.Self.ID)
		}
		j, _ := nextOf(t, a, "participant-joined")
		if j.Participant().ID != b.Self.ID || j.Participant().Name != "bob" {
			t.Errorf("alice was told %+v, want bob joined", j)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Chat(ctx, "hello mesh"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client.Client{a, b} {
			m, _ := nextOf(t, c, "chat")
			msg := m.Chat()
			if msg.From != b.Self.ID || msg.Name != "bob" || msg.Text != "hello mesh" || msg.Time == "" {
				t.Errorf("%s got chat %+v", c.Self.Name, msg)
			}
		}
		if err := b.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		l, _ := nextOf(t, a, "participant-left")
		if l.Participant().ID != b.Self.ID {
			t.Errorf("alice was told %+v, want bob left", l)
		}
		if err := a.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, func() (bool, string) {
			n := ts.MeshRooms().Len()
			return n == 0, fmt.Sprintf("%d mesh rooms after everyone left", n)
		})
	})
}

// TestMeshRoomFull: a mesh room takes MeshMaxSize peers; the next gets room-full and
// the others keep their call.
func TestMeshRoomFull(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, server.Config{MeshMaxSize: 2})
		a := joinMesh(t, ts, "pair", "alice")
		b := joinMesh(t, ts, "pair", "bob")
		_, err := tryJoin(ts, m, "pair", "carol", "mesh")
		if err == nil || !strings.Contains(err.Error(), "room-full") {
			t.Fatalf("third join: %v, want room-full", err)
		}
		if got := len(ts.MeshRooms().Room("pair").Peers()); got != 2 {
			t.Errorf("room has %d peers, want 2", got)
		}
		relay(t, a, b.Self.ID, relayData{Note: "marker"})
		relaysUntil(t, b, "marker")
	})
}

// TestMeshDefaultSize: without configuration a mesh room takes six peers.
func TestMeshDefaultSize(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{})
	for i := range 6 {
		joinMesh(t, ts, "six", fmt.Sprint("p", i))
	}
	if _, err := tryJoin(ts, modeWS, "six", "seventh", "mesh"); err == nil || !strings.Contains(err.Error(), "room-full") {
		t.Fatalf("seventh join: %v, want room-full", err)
	}
}

// TestModeMismatch: a room's mode is fixed when it is created, by its first joiner or
// by configuration; a join in the other mode is refused with mode-mismatch, and a
// message for the other mode with wrong-mode.
func TestModeMismatch(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{MeshRooms: []string{"p2p-*"}})
	joinPeer(t, ts, "sfu-room", "alice")
	joinMesh(t, ts, "mesh-room", "bob")
	cases := []struct{ room, mode, why string }{
		{"sfu-room", "mesh", "mesh join of an SFU room"},
		{"mesh-room", "sfu", "SFU join of a mesh room"},
		{"mesh-room", "", "join without a mode (SFU) of a mesh room"},
		{"p2p-call", "sfu", "SFU join of a room configured mesh"},
	}
	for _, c := range cases {
		_, err := tryJoin(ts, modeWS, c.room, "mallory", c.mode)
		if err == nil || !strings.Contains(err.Error(), "mode-mismatch") {
			t.Errorf("%s: %v, want mode-mismatch", c.why, err)
		}
	}
	configured, err := tryJoin(ts, modeWS, "p2p-call", "carol", "")
	if err != nil || configured.Mode != "mesh" {
		t.Fatalf("join without a mode of a configured room: %v, mode %q; want mesh", err, configured.Mode)
	}
	defer configured.Close()
	if _, err := tryJoin(ts, modeWS, "p2p-call", "dave", "hologram"); err == nil || !strings.Contains(err.Error(), "bad-request") {
		t.Errorf("unknown mode: %v, want bad-request", err)
	}

	// A WHIP publisher is an SFU join too.
	resp, err := ts.client.Post(ts.URL+"/whip/mesh-room", "application/sdp", strings.NewReader(pionOffer(t)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("WHIP publish to a mesh room: %s, want 409", resp.Status)
	}
	if ts.Rooms().Room("mesh-room") != nil {
		t.Error("an SFU room was made beside the mesh room of the same name")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := configured.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: pionOffer(t)})
	if err != nil || reply.Error().Code != "wrong-mode" {
		t.Errorf("publish-offer in a mesh room: %+v, %v; want wrong-mode", reply, err)
	}
	sfuClient := joinRaw(t, ts, "sfu-room")
	reply, err = sfuClient.Request(ctx, wire.TypeRelay, wire.Relay{To: "p_x", Data: json.RawMessage(`{}`)})
	if err != nil || reply.Error().Code != "wrong-mode" {
		t.Errorf("relay in an SFU room: %+v, %v; want wrong-mode", reply, err)
	}
}

// TestMeshBadInput sends bad relays from one peer of a mesh room: each gets an error
// or, for a flood, a disconnect of that peer only, while another pair of the room
// keeps relaying.
func TestMeshBadInput(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, server.Config{})
		const room = "bad-mesh"
		a := joinMesh(t, ts, room, "alice")
		b := joinMesh(t, ts, room, "bob")
		pairKeepsRelaying := func(t *testing.T, note string) {
			t.Helper()
			relay(t, a, b.Self.ID, relayData{Note: note})
			relaysUntil(t, b, note)
			relay(t, b, a.Self.ID, relayData{Note: note})
			relaysUntil(t, a, note)
		}
		pairKeepsRelaying(t, "before")

		mallory := joinMesh(t, ts, room, "mallory")
		to := quoteJSON(a.Self.ID)
		for _, c := range []struct{ name, frame, code string }{
			{"unaddressed", `{"type":"relay","data":{"x":1}}`, "bad-request"},
			{"no data", `{"type":"relay","to":` + to + `}`, "bad-request"},
			{"data not an object", `{"type":"relay","to":` + to + `,"data":"text"}`, "bad-request"},
			{"data null", `{"type":"relay","to":` + to + `,"data":null}`, "bad-request"},
			{"to not a string", `{"type":"relay","to":7,"data":{}}`, "bad-request"},
			{"huge payload", `{"type":"relay","to":` + to + `,"data":{"x":"` + strings.Repeat("a", 100<<10) + `"}}`, "bad-request"},
			{"SFU candidate", `{"type":"candidate","target":"publisher","candidate":{"candidate":""}}`, "wrong-mode"},
		} {
			t.Run(c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := mallory.SendRaw(ctx, []byte(c.frame)); err != nil {
					t.Fatal(err)
				}
				expectError(t, mallory, c.code)
				pairKeepsRelaying(t, c.name)
			})
		}
		// A frame over the message limit: WebSocket closes with 1009; SSE refuses the
		// POST and the session goes on.
		t.Run("frame over the limit", func(t *testing.T) {
			big := joinMesh(t, ts, room, "big")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := big.SendRaw(ctx, []byte(`{"type":"relay","to":`+to+`,"data":{"x":"`+strings.Repeat("a", 300<<10)+`"}}`))
			if m == modeWS {
				expectClosed(t, big, websocket.StatusMessageTooBig)
			} else if err == nil || !strings.Contains(err.Error(), "413") {
				t.Fatalf("oversized POST: %v, want 413", err)
			}
			pairKeepsRelaying(t, "after oversize")
		})
		t.Run("flood", func(t *testing.T) {
			floodAndExpectCutOff(t, m, mallory, a.Self.ID)
			for {
				l, _ := nextOf(t, a, "participant-left")
				if l.Participant().ID == mallory.Self.ID {
					break
				}
			}
			pairKeepsRelaying(t, "after flood")
		})
	})
}

// floodAndExpectCutOff relays from c as fast as it can until the server ends its
// session, and checks that it said why: flood errors, then the close.
func floodAndExpectCutOff(t *testing.T, m mode, c *client.Client, to string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	frame := []byte(`{"type":"relay","to":` + quoteJSON(to) + `,"data":{"note":"flood"}}`)
	sent := 0
	for ; sent < 20_000; sent++ {
		if c.SendRaw(ctx, frame) != nil {
			break
		}
		select {
		case <-c.Done():
		default:
			continue
		}
		break
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("still connected after %d relays", sent)
	}
	t.Logf("cut off after %d relays", sent)
	sawFlood := false
	for len(c.Events()) > 0 {
		if e := <-c.Events(); e.Type == "error" && e.Error().Code == "flood" {
			sawFlood = true
		}
	}
	if !sawFlood {
		t.Error("no flood error before the disconnect")
	}
	var ce websocket.CloseError
	switch {
	case m == modeWS && !(errors.As(c.Err(), &ce) && ce.Code == websocket.StatusPolicyViolation && ce.Reason == "flood"):
		t.Errorf("ended with %v, want close 1008 flood", c.Err())
	case m != modeWS && !(errors.Is(c.Err(), client.ErrSessionOver) && strings.Contains(c.Err().Error(), "flood")):
		t.Errorf("ended with %v, want the session over for flood", c.Err())
	}
}

// TestMeshChurnOverTransports: peers join, relay and leave concurrently over both
// transports; joins succeed and relays arrive on the way, and afterwards no room,
// session or goroutine is left.
func TestMeshChurnOverTransports(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{MeshMaxSize: 4})
	var joins, sent, received atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := modeWS
			if w%2 == 1 {
				m = modeSSE
			}
			for i := range 5 {
				c, err := tryJoin(ts, m, "churn", fmt.Sprintf("w%d-%d", w, i), "mesh")
				if err != nil {
					if !strings.Contains(err.Error(), "room-full") {
						t.Errorf("join: %v", err)
					}
					continue
				}
				joins.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				for _, p := range c.Present {
					if c.Relay(ctx, p.ID, relayData{Note: "hi"}) == nil {
						sent.Add(1)
					}
				}
				received.Add(int64(countRelays(c)))
				_ = c.Leave(ctx)
				cancel()
				c.Close()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d joins of 40, %d relays sent, %d received", joins.Load(), sent.Load(), received.Load())
	// Four fit in the room and each holds its place only briefly: most joins succeed.
	if joins.Load() < 10 {
		t.Errorf("%d of 40 joins succeeded", joins.Load())
	}
	if received.Load() == 0 || received.Load() > sent.Load() {
		t.Errorf("%d relays received of %d sent", received.Load(), sent.Load())
	}
	waitFor(t, 20*time.Second, func() (bool, string) {
		n := ts.MeshRooms().Len()
		return n == 0, fmt.Sprintf("%d mesh rooms left", n)
	})
}

// countRelays is how many relays c has received so far, discarding its other events.
func countRelays(c *client.Client) int {
	n := 0
	for {
		select {
		case m := <-c.Events():
			if m.Type == "relay" {
				n++
			}
		default:
			return n
		}
	}
}
