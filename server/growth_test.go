package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestOneConnectionCannotGrowMemory: a client that sends offer after offer, each
// naming sources for mids of its own invention, leaves the server holding no more
// sources than the offer has m-lines; the offers are refused as bad requests and the
// session goes on.
func TestOneConnectionCannotGrowMemory(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{MessagesPerSecond: -1}})
	const room = "growth"
	c := joinRaw(t, ts, room)
	offer := pionOffer(t) // one m-line, mid "0"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	codes := map[string]int{}
	for i := range 100 {
		sources := map[string]string{"0": "camera"}
		for j := range 20 {
			sources[fmt.Sprintf("x%d-%d", i, j)] = "camera"
		}
		reply, err := c.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: offer, Sources: sources})
		if err != nil {
			t.Fatalf("offer %d: %v", i, err)
		}
		codes[reply.Type+" "+reply.Error().Code]++
	}
	if codes["error bad-request"] != 100 {
		t.Errorf("replies to offers naming unknown mids: %v, want 100 bad-request errors", codes)
	}
	reply, err := c.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: offer, Sources: map[string]string{"0": "screen"}})
	if err != nil || reply.Type != "publish-answer" {
		t.Fatalf("an offer naming its own mid: %+v, %v", reply, err)
	}
	pub := onlyParticipant(t, ts, room).Publisher()
	if n := pub.NamedSources(); n != 1 {
		t.Errorf("the server keeps %d sources, want 1 (the offer has one m-line)", n)
	}
}

// onlyParticipant is the one participant of room.
func onlyParticipant(t *testing.T, ts *testServer, room sfu.RoomID) *sfu.Participant {
	t.Helper()
	r := ts.Rooms().Room(room)
	if r == nil {
		t.Fatalf("no room %q", room)
	}
	infos := r.Participants()
	if len(infos) != 1 {
		t.Fatalf("room %q has %d participants, want 1", room, len(infos))
	}
	p := r.Participant(infos[0].ID)
	if p == nil {
		t.Fatalf("participant %s has gone", infos[0].ID)
	}
	return p
}

// TestOneConnectionCannotGrowCandidates: candidates trickled without end on one
// connection are refused past the connection's bound with invalid-candidate, and the
// session goes on.
func TestOneConnectionCannotGrowCandidates(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{MessagesPerSecond: -1}})
	c := joinRaw(t, ts, "candidates")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if reply, err := c.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: pionOffer(t)}); err != nil || reply.Type != "publish-answer" {
		t.Fatalf("offer: %+v, %v", reply, err)
	}
	const sent = 400
	mid := "0"
	for port := range sent {
		cand := wire.ICECandidate{Candidate: fmt.Sprintf("candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host", port, 20000+port), SDPMid: &mid}
		if err := c.Send(ctx, wire.TypeCandidate, wire.Candidate{Target: wire.TargetPublisher, Candidate: &cand}); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := c.Request(ctx, wire.TypePing, nil); err != nil || reply.Type != "pong" {
		t.Fatalf("after the candidates, ping got %+v, %v", reply, err)
	}
	refused := 0
	for {
		m, ok := nextEvent(c)
		if !ok {
			break
		}
		if m.Type == "error" && m.Error().Code == "invalid-candidate" && strings.Contains(m.Error().Message, "too many") {
			refused++
		}
	}
	if refused != sent-256 {
		t.Errorf("%d of %d candidates refused as too many, want %d", refused, sent, sent-256)
	}
}
