package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestFlood: a participant floods the server with messages far over its rate. It is
// told rate-limited (with its request ids), then disconnected; meanwhile another
// participant of the same room keeps receiving a third one's media, second after
// second.
func TestFlood(t *testing.T) {
	for _, m := range []mode{modeWS, modeSSE} {
		t.Run(string(m), func(t *testing.T) { testFlood(t, m) })
	}
}

func testFlood(t *testing.T, m mode) {
	ts := startServerWith(t, m, server.Config{})
	carol := joinPeer(t, ts, "flood", "carol")
	carol.publishAV()
	bob := joinPeer(t, ts, "flood", "bob")
	bob.receivesFrom(t, 10, carol)
	mallory := joinPeer(t, ts, "flood", "mallory")

	// Watch bob's media from carol in one-second windows while the flood lasts.
	stopWatch := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() { watchErr <- watchMedia(bob, carol, stopWatch) }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent := 0
	for ; sent < 20000; sent++ {
		frame := fmt.Appendf(nil, `{"type":"ping","id":"f%d"}`, sent)
		if sent%3 == 1 {
			frame = []byte(`{"type":"chat","text":`) // malformed: refused all the same
		}
		if err := mallory.SendRaw(ctx, frame); err != nil {
			break // the server has cut mallory off
		}
	}
	select {
	case <-mallory.Done():
	case <-ctx.Done():
		t.Fatalf("mallory sent %d messages and is still connected", sent)
	}
	t.Logf("mallory was cut off after sending %d messages", sent)
	limited, withID := 0, 0
	for {
		ev, ok := nextEvent(mallory.Client)
		if !ok {
			break
		}
		if ev.Type == "error" && ev.Error().Code == "rate-limited" {
			limited++
			if strings.HasPrefix(ev.Re, "f") {
				withID++
			}
		}
	}
	t.Logf("mallory was told rate-limited %d times, %d with the request's id", limited, withID)
	if limited == 0 || withID == 0 {
		t.Error("mallory was never told rate-limited with a request id")
	}
	switch err := mallory.Err(); m {
	case modeWS:
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "rate limited" {
			t.Errorf("mallory's connection ended with %v, want close 1008 \"rate limited\"", err)
		}
	default:
		if err == nil || !strings.Contains(err.Error(), "rate limited") {
			t.Errorf("mallory's session ended with %v, want an end event saying rate limited", err)
		}
	}
	// Two more seconds of media after the cut, then the verdict on every window.
	time.Sleep(2 * time.Second)
	close(stopWatch)
	if err := <-watchErr; err != nil {
		t.Error(err)
	}
	waitFor(t, 5*time.Second, func() (bool, string) {
		n := len(ts.Rooms().Room("flood").Participants())
		return n == 2, fmt.Sprintf("%d participants in the room, want carol and bob", n)
	})
}

// watchMedia checks, every second until stop, that p has received more packets of
// each kind from from than a second before.
func watchMedia(p, from *peer, stop <-chan struct{}) error {
	last := map[string]uint64{"audio": p.packetsFrom(from.Self.ID, "audio"), "video": p.packetsFrom(from.Self.ID, "video")}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for window := 1; ; window++ {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		for kind, before := range last {
			now := p.packetsFrom(from.Self.ID, kind)
			if now <= before {
				return fmt.Errorf("second %d of the flood: %s received no %s from %s", window, p.name, kind, from.name)
			}
			last[kind] = now
		}
	}
}

// nextEvent returns an event c has already received, if any.
func nextEvent(c *client.Client) (client.Event, bool) {
	select {
	case m := <-c.Events():
		return m, true
	default:
		return client.Event{}, false
	}
}

// TestSFUWSFlood: an sfu-ws client far over its message rate is disconnected with
// 1008 "rate limited" (the protocol has no error message to warn it first).
func TestSFUWSFlood(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{MessagesPerSecond: 5, MessageBurst: 10}})
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/compat/sfu-ws?room=compat-flood"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	// Valid candidates: applied while within the rate, dropped beyond it.
	frame := []byte(`{"event":"candidate","data":"{\"candidate\":\"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\",\"sdpMid\":\"0\"}"}`)
	for range 200 {
		if ws.Write(ctx, websocket.MessageText, frame) != nil {
			break
		}
	}
	var ce websocket.CloseError
	if err := <-readErr; !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "rate limited" {
		t.Fatalf("connection ended with %v, want close 1008 \"rate limited\"", err)
	}
}

// TestLimits: joins beyond the rooms of the server and the participants of a room,
// and offers with more tracks than allowed, are refused with their codes (and WHIP
// with 503); the sessions refused go on, and nobody else is disturbed.
func TestLimits(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{MaxRooms: 2, MaxParticipants: 2, MaxTracks: 2}})
	joinPeer(t, ts, "a", "a1")
	joinPeer(t, ts, "b", "b1")
	join := func(room string) client.Event {
		t.Helper()
		c := connectRaw(t, ts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		reply, err := c.Request(ctx, wire.TypeJoin, wire.Join{Room: room, Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if reply.Type == "error" {
			// Refused, the session goes on.
			if pong, err := c.Request(ctx, wire.TypePing, nil); err != nil || pong.Type != "pong" {
				t.Fatalf("after a refused join: %+v, %v", pong, err)
			}
		}
		return reply
	}
	if r := join("c"); r.Error().Code != "too-many-rooms" || r.Error().Message == "" {
		t.Errorf("join of a third room: %+v, want error too-many-rooms", r)
	}
	if r := join("a"); r.Type != "joined" {
		t.Errorf("second participant of room a: %+v, want joined", r)
	}
	if r := join("a"); r.Error().Code != "room-full" || r.Error().Message == "" {
		t.Errorf("third participant of room a: %+v, want error room-full", r)
	}
	status, body := whipPost(t, ts, "/whip/a", pionOffer(t))
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "full") {
		t.Errorf("WHIP into a full room: %d %q, want 503 saying the room is full", status, body)
	}

	c := joinRaw(t, ts, "b")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := c.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: offerSending(t, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Error().Code != "too-many-tracks" || !strings.Contains(reply.Error().Message, "at most 2") {
		t.Errorf("offer of 3 tracks: %+v, want error too-many-tracks", reply)
	}
	reply, err = c.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: offerSending(t, 2)})
	if err != nil || reply.Type != "publish-answer" {
		t.Errorf("offer of 2 tracks: %+v, %v, want an answer", reply, err)
	}
	if n := ts.Rooms().Len(); n != 2 {
		t.Errorf("%d rooms, want 2", n)
	}
}

// offerSending is a Pion offer that sends n video tracks.
func offerSending(t *testing.T, n int) string {
	t.Helper()
	kinds := make([]webrtc.RTPCodecType, n)
	for i := range kinds {
		kinds[i] = webrtc.RTPCodecTypeVideo
	}
	return offerOf(t, webrtc.RTPTransceiverDirectionSendonly, kinds...)
}

func whipPost(t *testing.T, ts *testServer, path, offer string) (int, string) {
	t.Helper()
	resp, err := ts.client.Post(ts.URL+path, "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := bufio.NewReader(resp.Body).ReadString(0)
	return resp.StatusCode, b
}

// TestMessageSizeLimit: the configured message size bounds WebSocket frames (close
// 1009) and SSE posts (413).
func TestMessageSizeLimit(t *testing.T) {
	cfg := server.Config{Limits: server.Limits{MaxMessageSize: 1000}}
	big := `{"type":"chat","text":"` + strings.Repeat("a", 1000) + `"}`
	small := `{"type":"chat","text":"` + strings.Repeat("a", 900) + `"}`
	t.Run("websocket", func(t *testing.T) {
		ts := startServerWith(t, modeWS, cfg)
		c := joinRaw(t, ts, "size")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.SendRaw(ctx, []byte(small)); err != nil {
			t.Fatal(err)
		}
		expectEvent(t, c, func(m client.Event) bool { return m.Type == "chat" }, "the chat under the limit")
		if err := c.SendRaw(ctx, []byte(big)); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c, websocket.StatusMessageTooBig)
	})
	t.Run("sse", func(t *testing.T) {
		ts := startServerWith(t, modeSSE, cfg)
		p := joinPeer(t, ts, "size", "p")
		id, secret := p.SSESession()
		if status, body := post(t, ts, id, "Bearer "+secret, []byte(small)); status != http.StatusNoContent {
			t.Fatalf("post under the limit: %d %s", status, body)
		}
		if status, body := post(t, ts, id, "Bearer "+secret, []byte(big)); status != http.StatusRequestEntityTooLarge ||
			!strings.Contains(body, "1000 bytes") {
			t.Fatalf("post over the limit: %d %s, want 413 saying 1000 bytes", status, body)
		}
	})
}

// TestAllowedOrigins: every signaling transport lets in pages of the server's own
// origin and of the allowed ones, and clients that send no Origin (not browsers);
// pages of any other origin get 403.
func TestAllowedOrigins(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{AllowedOrigins: []string{"app.example.com"}})
	host := strings.TrimPrefix(ts.URL, "http://")
	origins := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + host, true},
		{"https://app.example.com", true},
		{"https://evil.example.com", false},
	}
	ws := "ws://" + host
	for _, o := range origins {
		for _, path := range []string{"/ws", "/compat/sfu-ws?room=origin"} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			h := http.Header{}
			if o.origin != "" {
				h.Set("Origin", o.origin)
			}
			c, resp, err := websocket.Dial(ctx, ws+path, &websocket.DialOptions{HTTPHeader: h})
			cancel()
			switch {
			case o.ok && err != nil:
				t.Errorf("%s from %q: %v, want a connection", path, o.origin, err)
			case !o.ok && (err == nil || resp == nil || resp.StatusCode != http.StatusForbidden):
				t.Errorf("%s from %q: %v, want 403", path, o.origin, err)
			}
			if c != nil {
				_ = c.CloseNow()
			}
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, err := http.NewRequest(method, ts.SSEURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if method == http.MethodPost {
				req.URL.Path += "/s_none"
				req.Header.Set("Authorization", "Bearer none")
			}
			if o.origin != "" {
				req.Header.Set("Origin", o.origin)
			}
			ctx, cancel := context.WithCancel(context.Background())
			resp, err := ts.client.Do(req.WithContext(ctx))
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			// Allowed: the stream opens (200), or the post reaches the session lookup (404).
			want := map[string]int{http.MethodGet: http.StatusOK, http.MethodPost: http.StatusNotFound}[method]
			if !o.ok {
				want = http.StatusForbidden
			}
			if resp.StatusCode != want {
				t.Errorf("SSE %s from %q: %d, want %d", method, o.origin, resp.StatusCode, want)
			}
			cancel()
			resp.Body.Close()
		}
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		return ts.Rooms().Len() == 0, fmt.Sprintf("%d rooms left", ts.Rooms().Len())
	})
}
