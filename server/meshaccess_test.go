package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/wire"
)

// meshToken signs a token for identity in room with grants and, when createMesh, the
// mode claim that lets it create mesh rooms.
func meshToken(t *testing.T, room, identity string, grants auth.Grants, createMesh bool) string {
	t.Helper()
	c := auth.NewClaims(room, identity, "", grants, time.Minute)
	if createMesh {
		c.Mode = auth.ModeMesh
	}
	return mintClaims(t, c)
}

// tryJoinWith joins room over m with token, asking for roomMode.
func tryJoinWith(ts *testServer, m mode, room, name, roomMode, token string) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Join(ctx, ts.signalURL(m), room, name,
		client.Options{HTTPClient: ts.client, Mode: roomMode, Token: token})
}

// joinMeshWith joins room as a mesh peer over m with token.
func joinMeshWith(t *testing.T, ts *testServer, m mode, room, name, token string) *client.Client {
	t.Helper()
	c, err := tryJoinWith(ts, m, room, name, "mesh", token)
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	t.Cleanup(c.Close)
	if c.Mode != "mesh" {
		t.Fatalf("%s joined a room of mode %q, want mesh", name, c.Mode)
	}
	return c
}

// sdpWith is a Pion offer with one audio and one video transceiver in direction dir.
func sdpWith(t *testing.T, dir webrtc.RTPTransceiverDirection) string {
	t.Helper()
	return offerOf(t, dir, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo)
}

// description is relay data carrying an SDP as the browser client does.
func description(typ, sdp string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"description": map[string]string{"type": typ, "sdp": sdp}})
	return b
}

// relayReply relays data from c to to and returns the server's error, or "" when the
// relay went through (checked by a ping answered after it).
func relayReply(t *testing.T, c *client.Client, to string, data json.RawMessage) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	frame, _ := json.Marshal(map[string]any{"type": "relay", "id": "relay-check", "to": to, "data": data})
	if err := c.SendRaw(ctx, frame); err != nil {
		t.Fatal(err)
	}
	pong, err := c.Request(ctx, wire.TypePing, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pong.Type != "pong" {
		t.Fatalf("ping answered with %+v", pong)
	}
	for len(c.Events()) > 0 {
		if e := <-c.Events(); e.Type == "error" && e.Re == "relay-check" {
			return e.Error().Code + ": " + e.Error().Message
		}
	}
	return ""
}

// TestMeshRoomsObeyGrantsAndIdentity: in mesh rooms, as in SFU rooms, a token's grants
// bound the media a peer sends and receives, a second connection with the same
// identity replaces the first, creating a mesh room needs the token's mode claim, and
// the admin API sees and manages the room.
func TestMeshRoomsObeyGrantsAndIdentity(t *testing.T) {
	t.Run("grants bound the descriptions a peer relays", func(t *testing.T) {
		run(t, testMeshGrants)
	})
	t.Run("identity replaced", func(t *testing.T) {
		run(t, testMeshIdentity)
	})
	t.Run("mode claim needed to create a mesh room", testMeshModeClaim)
	t.Run("admin lists, removes and closes mesh rooms", testMeshAdmin)
}

func testMeshGrants(t *testing.T, m mode) {
	ts := startAuthServer(t, m)
	const room = "huddle"
	host := joinMeshWith(t, ts, m, room, "host", meshToken(t, room, "host", allGrants, true))
	viewer := joinMeshWith(t, ts, m, room, "viewer", meshToken(t, room, "viewer", auth.Grants{Join: true}, false))
	listener := joinMeshWith(t, ts, m, room, "listener",
		meshToken(t, room, "listener", auth.Grants{Join: true, Subscribe: true}, false))
	micOnly := joinMeshWith(t, ts, m, room, "mic", meshToken(t, room, "mic",
		auth.Grants{Join: true, Publish: true, PublishSources: []string{auth.SourceMicrophone}, Subscribe: true}, false))
	sending := sdpWith(t, webrtc.RTPTransceiverDirectionSendrecv)
	receiving := sdpWith(t, webrtc.RTPTransceiverDirectionRecvonly)
	audioOnly := strings.Join(strings.SplitAfter(sending, "m=video")[:1], "")
	audioOnly = strings.TrimSuffix(audioOnly, "m=video")
	hidden, _ := json.Marshal(map[string]any{
		"DESCRIPTION": map[string]string{"type": "offer", "sdp": receiving},
		"description": map[string]string{"type": "offer", "sdp": sending},
	})
	for _, c := range []struct {
		name     string
		from, to *client.Client
		data     json.RawMessage
		want     string // error code, or "" for delivered
	}{
		{"join-only token cannot send an offer", viewer, host, description("offer", sending), "forbidden"},
		{"join-only token cannot send an answer that sends", viewer, host, description("answer", sending), "forbidden"},
		{"nor hide one beside a decoy", viewer, host, hidden, "forbidden"},
		{"join-only token may answer without sending", viewer, host, description("answer", receiving), ""},
		{"and relay candidates", viewer, host, json.RawMessage(`{"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}`), ""},
		{"no offer with media to a peer without subscribe", host, viewer, description("offer", sending), "forbidden"},
		{"an offer to receive only is fine", host, viewer, description("offer", receiving), ""},
		{"subscribe grant receives offers", host, listener, description("offer", sending), ""},
		{"subscribe-only answers", listener, host, description("answer", receiving), ""},
		{"subscribe-only cannot send", listener, host, description("answer", sending), "forbidden"},
		{"publish sources: microphone only cannot send video", micOnly, host, description("offer", sending), "forbidden"},
		{"publish sources: microphone only sends audio", micOnly, host, description("offer", audioOnly), ""},
	} {
		got := relayReply(t, c.from, c.to.Self.ID, c.data)
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func testMeshIdentity(t *testing.T, m mode) {
	ts := startAuthServer(t, m)
	const room = "huddle"
	first := joinMeshWith(t, ts, m, room, "ada-laptop", meshToken(t, room, "ada", allGrants, true))
	bob := joinMeshWith(t, ts, m, room, "bob", meshToken(t, room, "bob", allGrants, false))
	second := joinMeshWith(t, ts, m, room, "ada-phone", meshToken(t, room, "ada", allGrants, false))
	for _, p := range second.Present {
		if p.ID == first.Self.ID {
			t.Error("the replacement is told the replaced peer is present")
		}
	}
	waitEvent(t, first, func(msg client.Event) bool {
		return msg.Type == "error" && msg.Error().Code == "replaced"
	}, "first connection told replaced")
	select {
	case <-first.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the replaced connection is still open")
	}
	waitEvent(t, bob, func(msg client.Event) bool {
		return msg.Type == "participant-left" && msg.Participant().ID == first.Self.ID
	}, "bob sees the replaced peer leave")
	if n := len(ts.MeshRooms().Room(room).Peers()); n != 2 {
		t.Errorf("room has %d peers, want 2", n)
	}
	if got := relayReply(t, bob, second.Self.ID, json.RawMessage(`{"hello":1}`)); got != "" {
		t.Errorf("relay to the replacement: %s", got)
	}
}

func testMeshModeClaim(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret}, MeshRooms: []string{"p2p-*"}})
	const room = "standup"
	// A guest's token without the mode claim cannot make the host's room a mesh room.
	_, err := tryJoinWith(ts, modeWS, room, "guest", "mesh", meshToken(t, room, "guest", allGrants, false))
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("mesh join creating a room without the mode claim: %v, want forbidden", err)
	}
	if ts.MeshRooms().Room(room) != nil {
		t.Fatal("a refused mesh join created a mesh room")
	}
	host, err := tryJoinWith(ts, modeWS, room, "host", "", meshToken(t, room, "host", allGrants, false))
	if err != nil || host.Mode != "sfu" {
		t.Fatalf("host's SFU join: %v; want an SFU room", err)
	}
	host.Close()

	// Configuration makes p2p-* rooms mesh rooms for anyone.
	c := joinMeshWith(t, ts, modeWS, "p2p-call", "guest", meshToken(t, "p2p-call", "guest", allGrants, false))
	c.Close()
	// With the claim, a mesh room is created; others may then join it in mesh mode.
	joinMeshWith(t, ts, modeWS, "huddle", "host", meshToken(t, "huddle", "host", allGrants, true))
	joinMeshWith(t, ts, modeWS, "huddle", "guest", meshToken(t, "huddle", "guest", auth.Grants{Join: true}, false))
	// A token with a mode the server does not know is refused.
	bad := auth.NewClaims("huddle", "eve", "", allGrants, time.Minute)
	bad.Mode = "p2p"
	if _, err := tryJoinWith(ts, modeWS, "huddle", "eve", "mesh", mintClaims(t, bad)); err == nil ||
		!strings.Contains(err.Error(), "mode") {
		t.Errorf("token with mode %q: %v, want refused", bad.Mode, err)
	}
}

func testMeshAdmin(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	admin := adminToken(t)
	const room = "huddle"
	alice := joinMeshWith(t, ts, modeWS, room, "alice", meshToken(t, room, "alice", allGrants, true))
	bob := joinMeshWith(t, ts, modeWS, room, "bob", meshToken(t, room, "bob", allGrants, false))
	carol := joinMeshWith(t, ts, modeWS, room, "carol", meshToken(t, room, "carol", allGrants, false))
	joinWithToken(t, ts, modeWS, "standup", "dave", mintToken(t, "standup", "dave", allGrants))

	status, body := adminCall(t, ts, "GET", "/v1/admin/rooms", admin)
	if got := fmt.Sprint(body["rooms"]); status != 200 ||
		got != "[map[mode:mesh name:huddle participants:3] map[mode:sfu name:standup participants:1]]" {
		t.Fatalf("rooms: %d %s", status, got)
	}
	status, body = adminCall(t, ts, "GET", "/v1/admin/rooms/"+room, admin)
	if status != 200 || body["mode"] != "mesh" {
		t.Fatalf("room: %d %v", status, body)
	}
	var identities []string
	for _, p := range body["participants"].([]any) {
		identities = append(identities, p.(map[string]any)["identity"].(string))
	}
	if fmt.Sprint(identities) != "[alice bob carol]" {
		t.Errorf("participants: %v", body["participants"])
	}

	status, body = adminCall(t, ts, "POST", "/v1/admin/rooms/"+room+"/tracks/t_x/mute", admin)
	if code, _ := errorOf(body); status != 409 || code != "wrong-mode" {
		t.Errorf("mute in a mesh room: %d %v, want 409 wrong-mode", status, body)
	}

	status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room+"/participants/"+carol.Self.ID, admin)
	if status != 200 || body["removed"] != carol.Self.ID {
		t.Fatalf("remove: %d %v", status, body)
	}
	waitEvent(t, carol, func(m client.Event) bool { return m.Type == "error" && m.Error().Code == "removed" }, "carol told removed")
	waitDone(t, carol, "carol")
	for _, c := range []*client.Client{alice, bob} {
		waitEvent(t, c, func(m client.Event) bool {
			return m.Type == "participant-left" && m.Participant().ID == carol.Self.ID
		}, c.Self.Name+" sees carol leave")
	}
	status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room+"/participants/p_nobody", admin)
	if code, _ := errorOf(body); status != 404 || code != "not-found" {
		t.Errorf("remove nobody: %d %v", status, body)
	}

	status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room, admin)
	if status != 200 || body["removed"] != float64(2) {
		t.Fatalf("close: %d %v", status, body)
	}
	for _, c := range []*client.Client{alice, bob} {
		waitEvent(t, c, func(m client.Event) bool { return m.Type == "error" && m.Error().Code == "room-closed" }, c.Self.Name+" told room-closed")
		waitDone(t, c, c.Self.Name)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		return ts.MeshRooms().Room(room) == nil, "the closed mesh room still exists"
	})
}

func waitDone(t *testing.T, c *client.Client, name string) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s's connection is still open", name)
	}
}

// TestMeshRoomsCountAgainstMaxRooms: the server's room limit counts SFU and mesh
// rooms together; the join that would exceed it gets too-many-rooms, in either mode.
func TestMeshRoomsCountAgainstMaxRooms(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{MaxRooms: 2}})
	a := joinMesh(t, ts, "a", "a1")
	joinPeer(t, ts, "b", "b1")
	for _, roomMode := range []string{"mesh", "sfu"} {
		if _, err := tryJoin(ts, modeWS, "c", "c1", roomMode); err == nil || !strings.Contains(err.Error(), "too-many-rooms") {
			t.Errorf("%s join of a third room: %v, want too-many-rooms", roomMode, err)
		}
	}
	if ts.MeshRooms().Room("c") != nil || ts.Rooms().Room("c") != nil {
		t.Error("a refused join created a room")
	}
	a2 := joinMesh(t, ts, "a", "a2") // joining an existing room makes no new room
	a.Close()
	a2.Close()
	waitFor(t, 10*time.Second, func() (bool, string) {
		return ts.MeshRooms().Room("a") == nil, "mesh room a still exists after everyone left"
	})
	joinMesh(t, ts, "c", "c1") // room a is gone: c is the second room
}
