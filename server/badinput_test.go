package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestBadInput sends each kind of bad input from one client of a room and checks the
// error it gets, and that another participant keeps receiving media meanwhile.
func TestBadInput(t *testing.T) {
	ts := startServer(t)
	const room = "bad-input"
	alice := joinPeer(t, ts, room, "alice")
	alice.publishAV()
	bob := joinPeer(t, ts, room, "bob")
	bob.receivesFrom(t, 10, alice)

	joined := func(t *testing.T) *client.Client { t.Helper(); return joinRaw(t, ts, room) }
	connected := func(t *testing.T) *client.Client { t.Helper(); return connectRaw(t, ts) }
	validOffer := pionOffer(t)

	cases := []struct {
		name   string
		client func(*testing.T) *client.Client
		frame  string
		code   string // the error code expected; "" when the connection must close
		status websocket.StatusCode
	}{
		{name: "malformed JSON", client: joined, frame: `{"type": "chat", "text": `, code: "bad-json"},
		{name: "not an object", client: joined, frame: `[1, 2, 3]`, code: "bad-json"},
		{name: "type not a string", client: joined, frame: `{"type": 7}`, code: "bad-json"},
		{name: "unknown type", client: joined, frame: `{"type": "teleport", "id": "x1"}`, code: "unknown-type"},
		{name: "wrong field type", client: joined, frame: `{"type": "chat", "text": 12}`, code: "bad-request"},
		{name: "frame over the size limit", client: joined,
			frame: `{"type": "chat", "text": "` + strings.Repeat("a", 300<<10) + `"}`, status: websocket.StatusMessageTooBig},
		{name: "SDP over its limit", client: joined,
			frame: `{"type": "publish-offer", "sdp": "` + strings.Repeat("a", 200<<10) + `"}`, code: "bad-request"},
		{name: "garbage publish offer", client: joined, frame: `{"type": "publish-offer", "sdp": "v=0 not sdp"}`, code: "invalid-sdp"},
		{name: "offer with unknown source", client: joined,
			frame: `{"type": "publish-offer", "sdp": ` + quoteJSON(validOffer) + `, "sources": {"0": "hologram"}}`, code: "bad-request"},
		{name: "answer without an offer", client: joined, frame: `{"type": "subscribe-answer", "sdp": ` + quoteJSON(validOffer) + `}`, code: "no-offer"},
		{name: "invalid candidate", client: joined,
			frame: `{"type": "candidate", "target": "publisher", "candidate": {"candidate": "candidate:garbage", "sdpMid": "0"}}`, code: "invalid-candidate"},
		{name: "candidate for no connection", client: joined,
			frame: `{"type": "candidate", "target": "sideways", "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}}`, code: "bad-request"},
		{name: "publish before join", client: connected, frame: `{"type": "publish-offer", "sdp": ` + quoteJSON(validOffer) + `}`, code: "not-joined"},
		{name: "chat before join", client: connected, frame: `{"type": "chat", "text": "hi"}`, code: "not-joined"},
		{name: "join twice", client: joined, frame: `{"type": "join", "room": "other", "name": "again"}`, code: "already-joined"},
		{name: "bad room name", client: connected, frame: `{"type": "join", "room": "../etc", "name": "x"}`, code: "bad-request"},
		{name: "empty name", client: connected, frame: `{"type": "join", "room": "r", "name": "  "}`, code: "bad-request"},
		{name: "chat too long", client: joined, frame: `{"type": "chat", "text": "` + strings.Repeat("b", 5000) + `"}`, code: "bad-request"},
		{name: "track view of no track", client: joined, frame: `{"type": "track-view", "width": 320, "height": 180}`, code: "bad-request"},
		{name: "track view of negative size", client: joined, frame: `{"type": "track-view", "track": "t_x", "width": -1, "height": 180}`, code: "bad-request"},
		{name: "track view too large", client: joined, frame: `{"type": "track-view", "track": "t_x", "width": 320, "height": 99999}`, code: "bad-request"},
		{name: "track view before join", client: connected, frame: `{"type": "track-view", "track": "t_x", "width": 1, "height": 1}`, code: "not-joined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.SendRaw(ctx, []byte(tc.frame)); err != nil {
				t.Fatalf("send: %v", err)
			}
			if tc.code != "" {
				expectError(t, c, tc.code)
				// The session goes on: it still answers.
				if reply, err := c.Request(ctx, wire.TypePing, nil); err != nil || reply.Type != "pong" {
					t.Fatalf("after the error, ping got %+v, %v", reply, err)
				}
			} else {
				expectClosed(t, c, tc.status)
			}
			bob.receivesFrom(t, 10, alice)
		})
	}
}

func joinRaw(t *testing.T, ts *testServer, room string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.WSURL, room, "mallory", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func connectRaw(t *testing.T, ts *testServer) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, ts.WSURL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// expectError waits for an error message with code among c's events.
func expectError(t *testing.T, c *client.Client, code string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.Events():
			if m.Type != "error" {
				continue
			}
			if m.Error().Code != code || m.Error().Message == "" {
				t.Fatalf("got error %q (%q), want code %q with a message", m.Error().Code, m.Error().Message, code)
			}
			return
		case <-c.Done():
			t.Fatalf("connection closed (%v) instead of error %q", c.Err(), code)
		case <-timeout:
			t.Fatalf("no error %q within 5s", code)
		}
	}
}

// expectClosed waits for the server to close c's connection with status.
func expectClosed(t *testing.T, c *client.Client, status websocket.StatusCode) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("connection still open, want it closed with %v", status)
	}
	var ce websocket.CloseError
	if !errors.As(c.Err(), &ce) || ce.Code != status {
		t.Fatalf("connection ended with %v, want close status %v", c.Err(), status)
	}
}
