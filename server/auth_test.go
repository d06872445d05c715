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
	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/wire"
)

const (
	apiKey    = "test-key"
	apiSecret = "test-secret-0123456789-0123456789-abcdef"
)

// startAuthServer starts a server that requires join tokens signed by apiKey.
func startAuthServer(t *testing.T, m mode) *testServer {
	t.Helper()
	return startServerWith(t, m, server.Config{APIKeys: map[string]string{apiKey: apiSecret}})
}

var allGrants = auth.Grants{Join: true, Publish: true, Subscribe: true}

// mintToken signs a token for identity in room with grants, valid for a minute.
func mintToken(t *testing.T, room, identity string, grants auth.Grants) string {
	t.Helper()
	return mintClaims(t, auth.NewClaims(room, identity, "", grants, time.Minute))
}

func mintClaims(t *testing.T, c auth.Claims) string {
	t.Helper()
	tok, err := auth.Mint(apiKey, apiSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// joinWithToken joins a peer over m with token.
func joinWithToken(t *testing.T, ts *testServer, m mode, room, name, token string) *peer {
	t.Helper()
	p := &peer{t: t, name: name, tracks: map[string]*receivedTrack{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.signalURL(m), room, name,
		client.Options{OnTrack: p.onTrack, HTTPClient: ts.client, Token: token})
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	p.Client = c
	t.Cleanup(p.close)
	return p
}

// refusal is a token refusal as a test sees it.
type refusal struct {
	status int
	reason string
}

// refusalCases are the tokens every signaling endpoint refuses, for room "standup".
func refusalCases(t *testing.T) []struct {
	name, token, reason string
} {
	expired := auth.NewClaims("standup", "ada", "", allGrants, time.Minute)
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	valid := mintToken(t, "standup", "ada", allGrants)
	forged := valid[:strings.LastIndexByte(valid, '.')+1] + strings.Repeat("A", 43)
	wrongSecret, err := auth.Mint(apiKey, "another-secret-0123456789-0123456789", auth.NewClaims("standup", "ada", "", allGrants, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return []struct{ name, token, reason string }{
		{"no token", "", "no token"},
		{"bad signature", forged, "bad signature"},
		{"signed with another secret", wrongSecret, "bad signature"},
		{"expired", mintClaims(t, expired), "token expired"},
		{"another room", mintToken(t, "other", "ada", allGrants), `token is for room "other"`},
		{"no join grant", mintToken(t, "standup", "ada", auth.Grants{Publish: true, Subscribe: true}), "token does not grant join"},
	}
}

// assertNothingCreated fails if any room exists.
func assertNothingCreated(t *testing.T, ts *testServer) {
	t.Helper()
	if n := ts.Rooms().Len(); n != 0 {
		for _, r := range ts.Rooms().List() {
			t.Errorf("room %q exists with %d participants", r.ID(), len(r.Participants()))
		}
		t.Fatalf("%d rooms were created by refused requests", n)
	}
}

// TestTokenRefusals: every signaling endpoint refuses a missing, forged, expired,
// wrong-room or join-less token with 401 and the reason, before any room or
// participant exists.
func TestTokenRefusals(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	httpURL := ts.URL
	offer := pionOffer(t)
	endpoints := []struct {
		name string
		try  func(t *testing.T, token string) refusal
	}{
		{"websocket", func(t *testing.T, token string) refusal {
			return connectRefusal(t, ts.WSURL+"?room=standup", token, nil)
		}},
		{"sse", func(t *testing.T, token string) refusal {
			return connectRefusal(t, ts.SSEURL+"?room=standup", token, ts.client)
		}},
		{"websocket, token in query", func(t *testing.T, token string) refusal {
			return connectRefusal(t, ts.WSURL+"?room=standup&token="+token, "", nil)
		}},
		{"sfu-ws", func(t *testing.T, token string) refusal {
			return dialRefusal(t, "ws"+strings.TrimPrefix(httpURL, "http")+"/compat/sfu-ws?room=standup", token)
		}},
		{"whip", func(t *testing.T, token string) refusal {
			return postRefusal(t, httpURL+"/whip/standup", offer, token)
		}},
		{"whep", func(t *testing.T, token string) refusal {
			return postRefusal(t, httpURL+"/whep/standup", offer, token)
		}},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			for _, tc := range refusalCases(t) {
				got := ep.try(t, tc.token)
				if got.status != http.StatusUnauthorized || got.reason != tc.reason {
					t.Errorf("%s: got %d %q, want 401 %q", tc.name, got.status, got.reason, tc.reason)
				}
				assertNothingCreated(t, ts)
			}
		})
	}
}

// connectRefusal opens a native connection (WebSocket or SSE by url) with token and
// returns how the server refused it.
func connectRefusal(t *testing.T, url, token string, hc *http.Client) refusal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, url, client.Options{Token: token, HTTPClient: hc})
	if err == nil {
		c.Close()
		t.Fatalf("%s: connection accepted", url)
	}
	var refused *client.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("%s: %v is not a refusal", url, err)
	}
	if refused.Code != "unauthorized" {
		t.Errorf("refusal code = %q, want unauthorized", refused.Code)
	}
	return refusal{refused.Status, refused.Reason}
}

// dialRefusal dials a WebSocket with a Bearer token and returns the HTTP refusal.
func dialRefusal(t *testing.T, url, token string) refusal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+token)
	}
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err == nil {
		c.CloseNow()
		t.Fatalf("%s: connection accepted", url)
	}
	if resp == nil {
		t.Fatalf("%s: %v", url, err)
	}
	return refusal{resp.StatusCode, jsonErrorMessage(t, resp.Body)}
}

func jsonErrorMessage(t *testing.T, body interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(body).Decode(&e); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	return e.Error.Message
}

// postRefusal posts an SDP offer with a Bearer token (WHIP, WHEP).
func postRefusal(t *testing.T, url, offer, token string) refusal {
	t.Helper()
	headers := map[string]string{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	res := httpDo(t, http.MethodPost, url, "application/sdp", offer, headers)
	return refusal{res.status, jsonErrorMessage(t, strings.NewReader(res.body))}
}

// TestLastEventIDIsNoTokenOnWebSocket: only the SSE stream resumes a session by
// Last-Event-ID; on the WebSocket endpoint the header does not stand in for a token.
func TestLastEventIDIsNoTokenOnWebSocket(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, ts.WSURL+"?room=standup", &websocket.DialOptions{
		HTTPHeader: http.Header{"Last-Event-ID": {"s_x:y:1"}}})
	if err == nil {
		c.CloseNow()
		t.Fatal("a WebSocket without a token was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial: %v", err)
	}
	if msg := jsonErrorMessage(t, resp.Body); msg != "no token" {
		t.Errorf("reason %q", msg)
	}
	// On the SSE stream, a Last-Event-ID that names no session creates none.
	res := httpDo(t, http.MethodGet, ts.SSEURL+"?room=standup", "", "", map[string]string{"Last-Event-ID": "s_x:y:1"})
	if res.status != http.StatusNoContent {
		t.Errorf("SSE resume of an unknown session: %d %s", res.status, res.body)
	}
	assertNothingCreated(t, ts)
}

// TestTokenRoomQueryAndJoinMessage: the room named by ?room= must be the token's;
// without ?room=, a join naming another room is refused with forbidden and creates
// nothing, and the token's own room can still be joined on the same connection.
func TestTokenRoomQueryAndJoinMessage(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startAuthServer(t, m)
		token := mintToken(t, "standup", "ada", allGrants)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.Connect(ctx, ts.signalURL(m), client.Options{Token: token, HTTPClient: ts.client})
		if err != nil {
			t.Fatalf("connect without ?room=: %v", err)
		}
		defer c.Close()
		reply, err := c.Request(ctx, wire.TypeJoin, wire.Join{Room: "other", Name: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		if reply.Type != "error" || reply.Error().Code != "forbidden" || reply.Error().Message != `token is for room "standup"` {
			t.Fatalf("join of another room: %+v", reply)
		}
		assertNothingCreated(t, ts)
		reply, err = c.Request(ctx, wire.TypeJoin, wire.Join{Room: "standup", Name: "Ada"})
		if err != nil || reply.Type != "joined" {
			t.Fatalf("join of the token's room: %+v, %v", reply, err)
		}
		if reply.Joined().Participant.Identity != "ada" {
			t.Errorf("identity = %q, want ada", reply.Joined().Participant.Identity)
		}
	})
}

// TestTokenNameAndAnyRoom: a token's name is the display name whatever the join
// says; a token for "*" joins any room.
func TestTokenNameAndAnyRoom(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	tok := mintClaims(t, auth.NewClaims(auth.AnyRoom, "ada", "Ada Lovelace", allGrants, time.Minute))
	p := joinWithToken(t, ts, modeWS, "anything", "Someone else", tok)
	if p.Self.Name != "Ada Lovelace" || p.Self.Identity != "ada" {
		t.Errorf("joined as %+v", p.Self)
	}
}

// TestPublishGrants: without the publish grant an offer is refused (forbidden) while
// receiving works; publish_sources limits the sources; without subscribe nothing is
// received.
func TestPublishGrants(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startAuthServer(t, m)
		const room = "standup"
		alice := joinWithToken(t, ts, m, room, "alice", mintToken(t, room, "alice", allGrants))
		viewer := joinWithToken(t, ts, m, room, "viewer", mintToken(t, room, "viewer", auth.Grants{Join: true, Subscribe: true}))
		micOnly := joinWithToken(t, ts, m, room, "mic", mintToken(t, room, "mic",
			auth.Grants{Join: true, Publish: true, PublishSources: []string{auth.SourceMicrophone}, Subscribe: true}))
		deaf := joinWithToken(t, ts, m, room, "deaf", mintToken(t, room, "deaf", auth.Grants{Join: true, Publish: true}))
		alice.publishAV()

		for _, tc := range []struct {
			p      *peer
			source string
			want   string
		}{
			{viewer, "camera", "not allowed: this participant may not publish"},
			{micOnly, "camera", "not allowed: this participant may not publish camera"},
		} {
			track, err := client.NewVideoTrack("video", tc.p.name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err = tc.p.Publish(ctx, track, tc.source)
			cancel()
			if err == nil || !strings.Contains(err.Error(), "forbidden: "+tc.want) {
				t.Errorf("%s: publish %s: %v, want forbidden: %s", tc.p.name, tc.source, err, tc.want)
			}
		}
		viewer.receivesFrom(t, 20, alice)
		micOnly.receivesFrom(t, 20, alice)
		for _, p := range ts.Rooms().Room(room).Participants() {
			if p.Identity != "alice" && len(p.Tracks) > 0 {
				t.Errorf("%s publishes %d tracks", p.Identity, len(p.Tracks))
			}
		}
		// deaf may publish but not receive: the others have received alice's media for
		// a while, and deaf has been offered none of it.
		if tracks := deaf.ReceivingTracks(); len(tracks) != 0 {
			t.Errorf("deaf receives %d tracks without the subscribe grant", len(tracks))
		}
		if n := deaf.packetsFrom(alice.Self.ID, "video"); n != 0 {
			t.Errorf("deaf received %d video packets without the subscribe grant", n)
		}
		deaf.publishAV()
		alice.receivesFrom(t, 20, deaf)
	})
}

// TestIdentityReplacement: a second connection with the same identity replaces the
// first: the first is told "replaced" and disconnected, the others see it leave (and
// its tracks go), and the newcomer joins normally.
func TestIdentityReplacement(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startAuthServer(t, m)
		const room = "standup"
		first := joinWithToken(t, ts, m, room, "ada-laptop", mintToken(t, room, "ada", allGrants))
		bob := joinWithToken(t, ts, m, room, "bob", mintToken(t, room, "bob", allGrants))
		first.publishAV()
		bob.receivesFrom(t, 10, first)
		firstID := first.Self.ID

		second := joinWithToken(t, ts, m, room, "ada-phone", mintToken(t, room, "ada", allGrants))
		if second.Self.ID == firstID {
			t.Fatal("the replacement has the replaced participant's id")
		}
		for _, o := range second.Present {
			if o.ID == firstID {
				t.Error("the replacement is told the replaced participant is present")
			}
		}
		waitEvent(t, first.Client, func(msg client.Event) bool {
			return msg.Type == "error" && msg.Error().Code == "replaced"
		}, "first connection told replaced")
		select {
		case <-first.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the replaced connection is still open")
		}
		waitEvent(t, bob.Client, func(msg client.Event) bool {
			return msg.Type == "participant-left" && msg.Participant().ID == firstID
		}, "bob sees the replaced participant leave")
		waitFor(t, 10*time.Second, func() (bool, string) {
			for _, tr := range bob.ReceivingTracks() {
				if tr.Participant == firstID {
					return false, "bob still receives the replaced participant's " + tr.Kind
				}
			}
			return true, ""
		})
		got := ts.Rooms().Room(room).Participants()
		if len(got) != 2 {
			t.Fatalf("room has %d participants, want 2", len(got))
		}
		second.publishAV()
		bob.receivesFrom(t, 10, second)

		// Without an identity, nobody is replaced.
		anon := mintToken(t, room, "", allGrants)
		joinWithToken(t, ts, m, room, "anon1", anon)
		joinWithToken(t, ts, m, room, "anon2", anon)
		if n := len(ts.Rooms().Room(room).Participants()); n != 4 {
			t.Errorf("room has %d participants after two joins without identity, want 4", n)
		}
	})
}

// waitEvent reads c's events until one satisfies match.
func waitEvent(t *testing.T, c *client.Client, match func(client.Event) bool, what string) client.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case msg := <-c.Events():
			if match(msg) {
				return msg
			}
		case <-timeout:
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

// TestTokenInfo: GET /v1/token says whether a token would be accepted and why not.
func TestTokenInfo(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	res := httpDo(t, http.MethodGet, ts.URL+"/v1/token?room=standup&token="+mintToken(t, "other", "ada", allGrants), "", "", nil)
	if res.status != http.StatusUnauthorized || !strings.Contains(res.body, `token is for room \"other\"`) {
		t.Errorf("wrong room: %d %s", res.status, res.body)
	}
	res = httpDo(t, http.MethodGet, ts.URL+"/v1/token?room=standup", "", "", map[string]string{
		"Authorization": "Bearer " + mintToken(t, "standup", "ada", allGrants)})
	if res.status != http.StatusOK || !strings.Contains(res.body, `"identity":"ada"`) {
		t.Errorf("valid token: %d %s", res.status, res.body)
	}
	open := startServer(t)
	if res := httpDo(t, http.MethodGet, open.URL+"/v1/token", "", "", nil); res.status != http.StatusOK ||
		!strings.Contains(res.body, `"required":false`) {
		t.Errorf("open server: %d %s", res.status, res.body)
	}
}

// TestOpenServerIgnoresTokens: without API keys, clients join without tokens.
func TestOpenServerIgnoresTokens(t *testing.T) {
	ts := startServer(t)
	p := joinPeer(t, ts, "standup", "alice")
	if p.Self.Identity != "" {
		t.Errorf("identity %q without tokens", p.Self.Identity)
	}
}

// TestAuthorizeHookWithTokens: an embedder's Authorize hook still runs beside tokens.
func TestAuthorizeHookWithTokens(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{
		APIKeys:   map[string]string{apiKey: apiSecret},
		Authorize: func(r *http.Request) error { return fmt.Errorf("closed for maintenance") },
	})
	res := httpDo(t, http.MethodGet, ts.URL+"/ws?room=standup&token="+mintToken(t, "standup", "ada", allGrants), "", "", nil)
	if res.status != http.StatusUnauthorized || !strings.Contains(res.body, "closed for maintenance") {
		t.Errorf("hook refusal: %d %s", res.status, res.body)
	}
}
