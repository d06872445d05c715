package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestViewersCountAgainstLimits: a WHEP viewer takes a place of its room under
// MaxParticipants (a further viewer or participant is refused as the room is full),
// the viewers of the whole server are bounded by MaxViewers (503 saying so), and a
// viewer that leaves gives its place back. A viewer of a room that does not exist
// gets 404.
func TestViewersCountAgainstLimits(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{MaxParticipants: 2, MaxViewers: 2}})
	publishWHIP(t, ts, "a", 100_000, false)
	watchWHEP(t, ts, "/whep/a")

	// Room a holds a publisher and a viewer: full.
	if status, body := whipPost(t, ts, "/whep/a", pionOffer(t)); status != http.StatusServiceUnavailable || !strings.Contains(body, "full") {
		t.Errorf("third viewer-or-participant of room a, a viewer: %d %.80q, want 503 saying the room is full", status, body)
	}
	c := connectRaw(t, ts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if reply, err := c.Request(ctx, wire.TypeJoin, wire.Join{Room: "a", Name: "late"}); err != nil || reply.Error().Code != "room-full" {
		t.Errorf("join of room a beside its publisher and viewer: %+v, %v, want error room-full", reply, err)
	}

	// A second viewer, of room b: the server's two.
	joinPeer(t, ts, "b", "b1")
	inB := watchWHEP(t, ts, "/whep/b")
	joinPeer(t, ts, "c", "c1")
	if status, body := whipPost(t, ts, "/whep/c", pionOffer(t)); status != http.StatusServiceUnavailable || !strings.Contains(body, "viewers") {
		t.Errorf("third viewer of the server: %d %.80q, want 503 saying the server has its viewers", status, body)
	}
	inB.delete()
	watchWHEP(t, ts, "/whep/c") // the place is free again

	if status, body := whipPost(t, ts, "/whep/nowhere", pionOffer(t)); status != http.StatusNotFound {
		t.Errorf("viewer of a room that does not exist: %d %.80q, want 404", status, body)
	}
}

// watchWHEPWithToken is watchWHEP on a server with API keys: the POST carries token.
func watchWHEPWithToken(t *testing.T, ts *testServer, path, token string) *whipPeer {
	t.Helper()
	w := newWHIPPeer(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := w.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	w.pc.OnTrack(w.onTrack)
	offer, err := w.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(w.pc)
	if err := w.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	w.header = map[string]string{"Authorization": "Bearer " + token}
	resp := httpDo(t, "POST", ts.URL+path, "application/sdp", w.pc.LocalDescription().SDP, w.header)
	if resp.status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, resp.status, resp.body)
	}
	w.location = ts.URL + resp.header.Get("Location")
	if err := w.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.body}); err != nil {
		t.Fatal(err)
	}
	return w
}

// waitSessionGone waits until the server has ended w's session: its resource is gone.
func waitSessionGone(t *testing.T, w *whipPeer, why string) {
	t.Helper()
	waitFor(t, 10*time.Second, func() (bool, string) {
		r := httpDo(t, "PATCH", w.location, "application/trickle-ice-sdpfrag", "a=ice-ufrag:x\r\n", w.header)
		return r.status == http.StatusNotFound, fmt.Sprintf("%s: its session still answers PATCH with %d", why, r.status)
	})
}

// TestAdminSeesAndRemovesViewers: the admin API counts a room's WHEP viewers, lists
// them (id, the participant asked for, the one watched now, since when), removes
// one (its session ends, its place is freed), and closing the room ends the rest.
func TestAdminSeesAndRemovesViewers(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	admin := adminToken(t)
	const room = "stage"
	alice := joinWithToken(t, ts, modeWS, room, "alice", mintToken(t, room, "alice", allGrants))
	alice.publishAV()
	watch := mintToken(t, room, "", auth.Grants{Join: true, Subscribe: true})
	before := time.Now().Add(-time.Second)
	follower := watchWHEPWithToken(t, ts, "/whep/"+room, watch)
	fan := watchWHEPWithToken(t, ts, "/whep/"+room+"/"+alice.Self.ID, watch)
	waitFor(t, 15*time.Second, func() (bool, string) {
		n := follower.videoCount.Load()
		return n >= 10, fmt.Sprintf("the room's viewer has %d video packets", n)
	})

	status, body := adminCall(t, ts, "GET", "/v1/admin/rooms", admin)
	if got := fmt.Sprint(body["rooms"]); status != 200 || got != "[map[mode:sfu name:stage participants:1 viewers:2]]" {
		t.Errorf("rooms: %d %s, want stage with 1 participant and 2 viewers", status, got)
	}
	status, body = adminCall(t, ts, "GET", "/v1/admin/rooms/"+room, admin)
	viewers, _ := body["viewers"].([]any)
	if status != 200 || len(viewers) != 2 {
		t.Fatalf("room: %d %v, want 2 viewers", status, body)
	}
	// A viewer's id is not its WHEP resource's (that URL is the session's own
	// credential): the two are told apart by whom they asked for.
	ids := map[string]string{} // participant asked for -> viewer id
	for _, v := range viewers {
		v := v.(map[string]any)
		id, _ := v["id"].(string)
		asked, _ := v["participant"].(string)
		ids[asked] = id
		since, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v["since"]))
		if id == "" || strings.Contains(follower.location+fan.location, id) || v["watching"] != alice.Self.ID || err != nil ||
			since.Before(before) || since.After(time.Now()) {
			t.Errorf("viewer %v: want an id of its own, watching %s, since a time during the test", v, alice.Self.ID)
		}
	}
	followerID := ids[""]
	if followerID == "" || ids[alice.Self.ID] == "" {
		t.Fatalf("viewers %v: want one of the room and one of %s", viewers, alice.Self.ID)
	}

	// Remove the room's viewer: its session ends, and its media stops.
	status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room+"/viewers/"+followerID, admin)
	if status != 200 || body["removed"] != followerID {
		t.Fatalf("remove viewer: %d %v", status, body)
	}
	waitSessionGone(t, follower, "removed viewer")
	_, body = adminCall(t, ts, "GET", "/v1/admin/rooms/"+room, admin)
	if viewers, _ := body["viewers"].([]any); len(viewers) != 1 {
		t.Errorf("after the removal: %v, want 1 viewer", body["viewers"])
	}
	status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room+"/viewers/"+followerID, admin)
	if code, _ := errorOf(body); status != 404 || code != "not-found" {
		t.Errorf("remove a removed viewer: %d %v, want 404 not-found", status, body)
	}

	// Close the room: the participant and the last viewer go, and so does the room.
	if status, body = adminCall(t, ts, "DELETE", "/v1/admin/rooms/"+room, admin); status != 200 {
		t.Fatalf("close: %d %v", status, body)
	}
	waitSessionGone(t, fan, "viewer of the closed room")
	waitFor(t, 10*time.Second, func() (bool, string) {
		return ts.Rooms().Room(room) == nil, "the closed room still exists"
	})
}
