package server_test

import (
	"context"
	"encoding/json"
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
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal/sse"
)

// flakyPeer is a peer whose network a test can take away: its media (UDP sockets
// that go silent) and its signaling (TCP connections closed, new ones refused). Its
// connections give up on a silent path fast (1 s disconnected, 1 s more failed), so
// that only an ICE restart brings its media back after a cut of a few seconds.
type flakyPeer struct {
	*peer
	udp *vanishingUDP
	net *cuttable
}

func joinFlaky(t *testing.T, ts *testServer, room, name string) *flakyPeer {
	t.Helper()
	api, udp := vanishingAPI(t, func(s *webrtc.SettingEngine) {
		s.SetICETimeouts(time.Second, time.Second, 200*time.Millisecond)
	})
	net := newCuttable(ts)
	t.Cleanup(net.CloseIdleConnections)
	p := &peer{t: t, name: name, tracks: map[string]*receivedTrack{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.signalURL(ts.mode), room, name, client.Options{
		API: api, HTTPClient: net.Client, OnTrack: p.onTrack, Reconnect: true})
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	p.Client = c
	t.Cleanup(p.close)
	return &flakyPeer{peer: p, udp: udp, net: net}
}

// cut takes the peer's network away: media and signaling.
func (f *flakyPeer) cut() {
	f.udp.gone.Store(true)
	f.net.cut()
}

func (f *flakyPeer) restore() {
	f.net.restore()
	f.udp.gone.Store(false)
}

// noMembershipChange fails if c has received a participant-left or -joined for id.
func noMembershipChange(t *testing.T, c *client.Client, id string) {
	t.Helper()
	for {
		select {
		case m := <-c.Events():
			if (m.Type == "participant-left" || m.Type == "participant-joined") && m.Participant().ID == id {
				t.Errorf("got %s for %s: the others must not see it leave", m.Type, id)
			}
		default:
			return
		}
	}
}

// TestStayInCall: a participant whose network goes away for 5 s (media silent, its
// signaling connection dropped and refused) stays in the call: its signaling resumes,
// its connections restart ICE, it keeps its id and its tracks, media flows both
// ways again, the messages sent to it meanwhile arrive, and the others never see it
// leave or join.
//
// In the last case the server's own connections fail 2 s into the cut: the
// participant stays because a failed connection waits for the ICE restart
// (Liveness.ICERestartGrace) instead of ending the session at once.
func TestStayInCall(t *testing.T) {
	quick := server.Liveness{Liveness: sfu.Liveness{ICEDisconnectedTimeout: time.Second, ICEFailedTimeout: time.Second}}
	for _, tc := range []struct {
		name string
		m    mode
		live server.Liveness
	}{
		{name: "ws", m: modeWS},
		{name: "sse", m: modeSSE},
		{name: "ws/server connections failed", m: modeWS, live: quick},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			ts := startServerWith(t, m, server.Config{Liveness: tc.live})
			const room sfu.RoomID = "commute"
			bob := joinPeerWith(t, ts, modeWS, ts.client, string(room), "bob")
			bob.publishAV()
			alice := joinFlaky(t, ts, string(room), "alice")
			alice.publishAV()
			alice.receivesFrom(t, 20, bob)
			bob.receivesFrom(t, 20, alice.peer)
			drain(bob.Client)
			tracks := trackIDs(ts, room, alice.Self.ID)

			alice.cut()
			const n = 10
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := range n {
				if err := bob.Chat(ctx, fmt.Sprintf("while away %d", i)); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(5 * time.Second) // the cut itself, not a wait for an outcome
			alice.restore()
			expectChats(t, alice.Client, "while away", n) // replayed, in order, once

			waitFor(t, 15*time.Second, func() (bool, string) {
				return alice.Resumes() >= 1, fmt.Sprintf("alice resumed %d times", alice.Resumes())
			})
			alice.receivesFrom(t, 50, bob)
			bob.receivesFrom(t, 50, alice.peer)
			if alice.ICERestarts() == 0 {
				t.Error("alice's media came back without an ICE restart: the cut did not take it down")
			}
			select {
			case <-alice.Done():
				t.Fatalf("alice's session ended: %v", alice.Err())
			default:
			}
			if got := trackIDs(ts, room, alice.Self.ID); fmt.Sprint(got) != fmt.Sprint(tracks) {
				t.Errorf("alice's tracks are %v after the cut, were %v", got, tracks)
			}
			noMembershipChange(t, bob.Client, alice.Self.ID)
			t.Logf("alice resumed %d times, restarted ICE %d times", alice.Resumes(), alice.ICERestarts())
		})
	}
}

// trackIDs are the ids of the tracks participant publishes in room, in the room's
// order; nil when the participant is not in it.
func trackIDs(ts *testServer, room sfu.RoomID, participant string) []string {
	r := ts.Rooms().Room(room)
	if r == nil {
		return nil
	}
	for _, p := range r.Participants() {
		if string(p.ID) == participant {
			var ids []string
			for _, tr := range p.Tracks {
				ids = append(ids, string(tr.ID))
			}
			return ids
		}
	}
	return nil
}

// TestAwayTooLong: a participant whose network stays away beyond the grace period
// leaves (the others see participant-left), and when it comes back its session
// cannot be resumed.
func TestAwayTooLong(t *testing.T) {
	for _, m := range []mode{modeWS, modeSSE} {
		t.Run(string(m), func(t *testing.T) {
			const grace = 2 * time.Second
			ts := startServerWith(t, m, server.Config{SSE: sse.Options{GracePeriod: grace}})
			const room sfu.RoomID = "tunnel"
			bob := joinPeerWith(t, ts, modeWS, ts.client, string(room), "bob")
			alice := joinFlaky(t, ts, string(room), "alice")
			alice.publishAV()
			bob.receivesFrom(t, 20, alice.peer)
			drain(bob.Client)

			alice.cut()
			expectEventWithin(t, bob.Client, 15*time.Second, func(e client.Event) bool {
				return e.Type == "participant-left" && e.Participant().ID == alice.Self.ID
			}, "participant-left for alice")
			alice.restore()
			select {
			case <-alice.Done():
			case <-time.After(15 * time.Second):
				t.Fatal("alice's client still runs a session the server ended")
			}
			if err := alice.Err(); !errors.Is(err, client.ErrCannotResume) && !errors.Is(err, client.ErrSessionOver) {
				t.Errorf("alice's connection ended with %v, want cannot-resume or session over", err)
			}
		})
	}
}

// TestCannotResume: a WebSocket that names a session the server does not have (ended,
// or never was) is told cannot-resume and closed.
func TestCannotResume(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.WSURL+"?resume=w_nosuch.secret&last=3", &websocket.DialOptions{HTTPClient: ts.client})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct{ Type, Code, Message string }
	if err := json.Unmarshal(b, &msg); err != nil || msg.Type != "error" || msg.Code != "cannot-resume" {
		t.Fatalf("first message %s, want an error with code cannot-resume", b)
	}
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Errorf("closed with %v (%v), want %v", got, err, websocket.StatusPolicyViolation)
	}
}

// TestResumableLeavesOnClose: a resumable session whose client closes its WebSocket
// with a close frame ends at once, without waiting for the grace period (an hour
// here): the others are told the participant left.
func TestResumableLeavesOnClose(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{SSE: sse.Options{GracePeriod: time.Hour}})
	bob := joinPeer(t, ts, "door", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, err := client.Join(ctx, ts.WSURL, "door", "alice", client.Options{Reconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	alice.Close()
	expectEventWithin(t, bob.Client, 10*time.Second, func(e client.Event) bool {
		return e.Type == "participant-left" && e.Participant().ID == alice.Self.ID
	}, "participant-left for alice")
}

// TestResumeTakesOver: a connection that resumes a session whose first connection
// the server still holds takes it over: the first is closed with 1008 "resumed on
// another connection", the second gets resumed and then the session's messages.
func TestResumeTakesOver(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(query string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, ts.WSURL+"?"+query, &websocket.DialOptions{HTTPClient: ts.client})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	read := func(c *websocket.Conn) map[string]any {
		t.Helper()
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := dial("resumable=1")
	session := read(first)
	token, _ := session["resume"].(string)
	if session["type"] != "session" || token == "" {
		t.Fatalf("first message %v, want a session with a resume token", session)
	}
	if err := first.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if m := read(first); m["type"] != "pong" {
		t.Fatalf("got %v, want pong", m)
	}

	second := dial("resume=" + token + "&last=1")
	if m := read(second); m["type"] != "resumed" || m["last"] != 1.0 {
		t.Fatalf("got %v, want resumed after 1", m)
	}
	_, _, err := first.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Errorf("first connection closed with %v (%v), want %v", got, err, websocket.StatusPolicyViolation)
	}
	if err := second.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":"2"}`)); err != nil {
		t.Fatal(err)
	}
	if m := read(second); m["type"] != "pong" || m["re"] != "2" {
		t.Fatalf("got %v, want the pong of ping 2", m)
	}
}

// TestResumeNeedsNoToken: on a server with API keys, a WebSocket that resumes needs
// no join token (the resume token is the session's authority), and is let in only to
// be told whether it can resume; the resume parameter does not stand in for a token
// on the SSE stream.
func TestResumeNeedsNoToken(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.WSURL+"?room=standup&resume=w_nosuch.secret&last=0", nil)
	if err != nil {
		t.Fatalf("a resuming WebSocket without a token was refused: %v", err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"code":"cannot-resume"`) {
		t.Fatalf("got %s (%v), want cannot-resume", b, err)
	}
	res := httpDo(t, http.MethodGet, ts.SSEURL+"?room=standup&resume=w_nosuch.secret", "", "", nil)
	if res.status != http.StatusUnauthorized {
		t.Errorf("SSE stream with resume= and no token: %d %s, want 401", res.status, res.body)
	}
	assertNothingCreated(t, ts)
}
