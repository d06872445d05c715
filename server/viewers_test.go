package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
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
	if reply, err := c.Request(ctx, client.Message{Type: "join", Room: "a", Name: "late"}); err != nil || reply.Code != "room-full" {
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
