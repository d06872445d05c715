package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/client"
)

// adminCall makes an admin API request with token and decodes the JSON answer.
func adminCall(t *testing.T, ts *testServer, method, path, token string) (int, map[string]any) {
	t.Helper()
	headers := map[string]string{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	res := httpDo(t, method, ts.URL+path, "", "", headers)
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, res.body)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, res.body)
	}
	return res.status, body
}

// errorOf is the code and message of a JSON error answer.
func errorOf(body map[string]any) (code, msg string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

func adminToken(t *testing.T) string {
	t.Helper()
	return mintToken(t, "", "ops", auth.Grants{Admin: true})
}

// TestAdminRefusals: the admin API needs a valid token with the admin grant (and, for
// a token naming a room, that room); a server without API keys disables it.
func TestAdminRefusals(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	joinWithToken(t, ts, modeWS, "standup", "alice", mintToken(t, "standup", "alice", allGrants))
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		code, msg                 string
	}{
		{"no token", "GET", "/v1/admin/rooms", "", 401, "unauthorized", "no token"},
		{"join token", "GET", "/v1/admin/rooms", mintToken(t, "standup", "alice", allGrants), 403, "forbidden", "token does not grant admin"},
		{"join token, remove", "DELETE", "/v1/admin/rooms/standup", mintToken(t, "standup", "alice", allGrants), 403, "forbidden", "token does not grant admin"},
		{"admin of another room", "DELETE", "/v1/admin/rooms/standup", mintToken(t, "other", "ops", auth.Grants{Admin: true}), 403, "forbidden", `token is for room "other"`},
		{"expired admin token", "GET", "/v1/admin/rooms", mintClaims(t, auth.NewClaims("", "ops", "", auth.Grants{Admin: true}, -time.Minute)), 401, "unauthorized", "token expired"},
	} {
		status, body := adminCall(t, ts, tc.method, tc.path, tc.token)
		code, msg := errorOf(body)
		if status != tc.status || code != tc.code || msg != tc.msg {
			t.Errorf("%s: %d %s %q, want %d %s %q", tc.name, status, code, msg, tc.status, tc.code, tc.msg)
		}
	}
	if n := len(ts.Rooms().Room("standup").Participants()); n != 1 {
		t.Errorf("refused admin calls changed the room: %d participants", n)
	}

	open := startServer(t)
	status, body := adminCall(t, open, "GET", "/v1/admin/rooms", adminToken(t))
	if code, _ := errorOf(body); status != http.StatusForbidden || code != "admin-disabled" {
		t.Errorf("server without keys: %d %v", status, body)
	}
}

// TestAdminAPI runs every admin call against a live room: list rooms, list
// participants with their tracks, mute and unmute a track (packets stop and resume
// at a subscriber, the room is told), remove a participant (told removed,
// disconnected, the others see it leave), close the room (everyone told and
// disconnected).
func TestAdminAPI(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	admin := adminToken(t)
	const room = "standup"
	alice := joinWithToken(t, ts, modeWS, room, "alice", mintToken(t, room, "alice", allGrants))
	bob := joinWithToken(t, ts, modeWS, room, "bob", mintToken(t, room, "bob", allGrants))
	carol := joinWithToken(t, ts, modeWS, room, "carol", mintToken(t, room, "carol", allGrants))
	joinWithToken(t, ts, modeWS, "elsewhere", "dave", mintToken(t, "elsewhere", "dave", allGrants))
	alice.publishAV()
	bob.receivesFrom(t, 20, alice)

	// List rooms.
	status, body := adminCall(t, ts, "GET", "/v1/admin/rooms", admin)
	if got := fmt.Sprint(body["rooms"]); status != 200 || got != "[map[mode:sfu name:elsewhere participants:1] map[mode:sfu name:standup participants:3]]" {
		t.Fatalf("rooms: %d %s", status, got)
	}
	// A room-scoped admin token sees its room only.
	_, body = adminCall(t, ts, "GET", "/v1/admin/rooms", mintToken(t, room, "ops", auth.Grants{Admin: true}))
	if got := fmt.Sprint(body["rooms"]); got != "[map[mode:sfu name:standup participants:3]]" {
		t.Errorf("rooms for a room-scoped token: %s", got)
	}

	// One room, with participants and tracks.
	status, body = adminCall(t, ts, "GET", "/v1/admin/rooms/"+room, admin)
	if status != 200 {
		t.Fatalf("room: %d %v", status, body)
	}
	videoID := ""
	participants, _ := body["participants"].([]any)
	identities := []string{}
	for _, p := range participants {
		p := p.(map[string]any)
		identities = append(identities, p["identity"].(string))
		for _, tr := range p["tracks"].([]any) {
			tr := tr.(map[string]any)
			if p["identity"] == "alice" && tr["kind"] == "video" {
				videoID = tr["id"].(string)
				if tr["source"] != "camera" || tr["muted"] != false {
					t.Errorf("alice's video: %v", tr)
				}
			}
		}
	}
	if strings.Join(identities, ",") != "alice,bob,carol" || videoID == "" {
		t.Fatalf("participants %v, alice's video %q: %v", identities, videoID, body)
	}

	// Mute alice's video: the room is told, and bob stops receiving it.
	status, body = adminCall(t, ts, "POST", "/v1/admin/rooms/"+room+"/tracks/"+videoID+"/mute", admin)
	if status != 200 || body["track"].(map[string]any)["muted"] != true {
		t.Fatalf("mute: %d %v", status, body)
	}
	for _, p := range []*peer{alice, bob, carol} {
		waitEvent(t, p.Client, func(m client.Event) bool {
			return m.Type == "track-muted" && m.Track().ID == videoID && m.Track().Muted
		}, p.name+" told of the mute")
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		before := bob.packetsFromTrack(videoID)
		time.Sleep(300 * time.Millisecond)
		after := bob.packetsFromTrack(videoID)
		return after == before, fmt.Sprintf("bob still receives alice's muted video (%d -> %d packets)", before, after)
	})
	bob.receivesFromKind(t, 10, alice, "audio") // the rest goes on
	// Unmute: it flows again.
	status, body = adminCall(t, ts, "POST", "/v1/admin/rooms/"+room+"/tracks/"+videoID+"/unmute", admin)
	if status != 200 || body["track"].(map[string]any)["muted"] != false {
		t.Fatalf("unmute: %d %v", status, body)
	}
	waitEvent(t, bob.Client, func(m client.Event) bool {
		return m.Type == "track-muted" && m.Track().ID == videoID && !m.Track().Muted
	}, "bob told of the unmute")
	bob.receivesFromKind(t, 20, alice, "video")

	// Unknown room, participant, track: 404.
	for _, path := range []string{"/v1/admin/rooms/nowhere", "/v1/admin/rooms/" + room + "/participants/p_nobody",
		"/v1/admin/rooms/" + room + "/tracks/t_nothing/mute"} {
		method := map[bool]string{true: "GET", false: "DELETE"}[strings.HasSuffix(path, "nowhere")]
		if strings.HasSuffix(path, "mute") {
			method = "POST"
		}
		status, body := adminCall(t, ts, method, path, admin)
		if code, _ := errorOf(body); status != 404 || code != "not-found" {
			t.Errorf("%s %s: %d %v", method, path, status, body)
		}
	}

	// Remove carol.
	status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room+"/participants/"+carol.Self.ID, admin)
	if status != 200 || body["removed"] != carol.Self.ID {
		t.Fatalf("remove: %d %v", status, body)
	}
	waitEvent(t, carol.Client, func(m client.Event) bool { return m.Type == "error" && m.Error().Code == "removed" }, "carol told removed")
	waitClosed(t, carol)
	for _, p := range []*peer{alice, bob} {
		waitEvent(t, p.Client, func(m client.Event) bool {
			return m.Type == "participant-left" && m.Participant().ID == carol.Self.ID
		}, p.name+" sees carol leave")
	}

	// Close the room.
	status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room, admin)
	if status != 200 || body["removed"] != float64(2) {
		t.Fatalf("close: %d %v", status, body)
	}
	for _, p := range []*peer{alice, bob} {
		waitEvent(t, p.Client, func(m client.Event) bool { return m.Type == "error" && m.Error().Code == "room-closed" }, p.name+" told room-closed")
		waitClosed(t, p)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		return ts.Rooms().Room(room) == nil, "the closed room still exists"
	})
	if ts.Rooms().Room("elsewhere") == nil {
		t.Error("closing one room closed another")
	}
}

func waitClosed(t *testing.T, p *peer) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s's connection is still open", p.name)
	}
}

// receivesFromKind waits until p has received n more packets of kind from o.
func (p *peer) receivesFromKind(t *testing.T, n uint64, o *peer, kind string) {
	t.Helper()
	base := p.packetsFrom(o.Self.ID, kind)
	waitFor(t, 15*time.Second, func() (bool, string) {
		got := p.packetsFrom(o.Self.ID, kind) - base
		return got >= n, fmt.Sprintf("%s has %d new %s packets from %s, want %d", p.name, got, kind, o.name, n)
	})
}
