package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/webhook"
)

// hookReceiver is a webhook endpoint that records what it accepts. It answers its
// first failFirst requests with 500, and checks each signature with secret (none
// expected when secret is empty).
type hookReceiver struct {
	secret    string
	key       string
	failFirst int

	mu       sync.Mutex
	requests int
	events   []webhook.Event
	problems []string
}

func (rv *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.requests++
	if rv.requests <= rv.failFirst {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	sig := r.Header.Get(webhook.HeaderSignature)
	switch {
	case err != nil:
		rv.problems = append(rv.problems, err.Error())
	case rv.secret == "" && sig != "":
		rv.problems = append(rv.problems, "a signature without a secret: "+sig)
	case rv.secret != "" && !webhook.Verify(rv.secret, body, sig):
		rv.problems = append(rv.problems, fmt.Sprintf("signature %q does not verify %s", sig, body))
	case rv.secret != "" && r.Header.Get(webhook.HeaderKey) != rv.key:
		rv.problems = append(rv.problems, "signed by key "+r.Header.Get(webhook.HeaderKey))
	}
	var e webhook.Event
	if err := json.Unmarshal(body, &e); err != nil {
		rv.problems = append(rv.problems, fmt.Sprintf("body %s: %v", body, err))
	}
	if r.Header.Get(webhook.HeaderDelivery) != e.ID || r.Header.Get(webhook.HeaderEvent) != string(e.Type) ||
		r.Header.Get(webhook.HeaderTimestamp) != fmt.Sprint(e.Time.Unix()) {
		rv.problems = append(rv.problems, fmt.Sprintf("headers %v do not match %s", r.Header, body))
	}
	rv.events = append(rv.events, e)
}

// inRoom is the events of room received so far, in order.
func (rv *hookReceiver) inRoom(room string) []webhook.Event {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	var out []webhook.Event
	for _, e := range rv.events {
		if e.Room.Name == room {
			out = append(out, e)
		}
	}
	return out
}

// waitFinished waits for room's room_finished event.
func (rv *hookReceiver) waitFinished(t *testing.T, room string) []webhook.Event {
	t.Helper()
	waitFor(t, 15*time.Second, func() (bool, string) {
		got := rv.inRoom(room)
		return len(got) > 0 && got[len(got)-1].Type == webhook.RoomFinished, "events so far: " + describe(got)
	})
	return rv.inRoom(room)
}

// check fails on any problem seen, and on an event id delivered twice.
func (rv *hookReceiver) check(t *testing.T) {
	t.Helper()
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for _, p := range rv.problems {
		t.Error(p)
	}
	seen := map[string]bool{}
	for _, e := range rv.events {
		if seen[e.ID] || !strings.HasPrefix(e.ID, "ev_") {
			t.Errorf("event id %q delivered twice or malformed", e.ID)
		}
		seen[e.ID] = true
		if e.Time.IsZero() || e.Time.Location() != time.UTC {
			t.Errorf("event %s: time %v", e.ID, e.Time)
		}
	}
}

// describe lists events as "type[/participant name[/track source]]", a WHIP
// publisher's name as WHIP.
func describe(events []webhook.Event) string {
	var parts []string
	for _, e := range events {
		s := string(e.Type)
		if p := e.Participant; p != nil && p.Transport == "whip" {
			s += "/WHIP" // named by the server
		} else if p != nil {
			s += "/" + p.Name
		}
		if e.Track != nil {
			s += "/" + e.Track.Source
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func startReceiver(t *testing.T, rv *hookReceiver) string {
	t.Helper()
	hs := httptest.NewServer(rv)
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestWebhooksOfASession: every event of a session reaches the endpoint once, in
// order, signed with the named API key's secret, though the endpoint's first two
// answers are 500.
func TestWebhooksOfASession(t *testing.T) {
	const otherKey, otherSecret = "a-first-key", "another-secret-0123456789-0123456789"
	rv := &hookReceiver{secret: apiSecret, key: apiKey, failFirst: 2}
	url := startReceiver(t, rv)
	ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret, otherKey: otherSecret},
		Webhooks: webhook.Config{URLs: []string{url}, KeyID: apiKey, MinBackoff: 5 * time.Millisecond}})

	alice := joinWithToken(t, ts, modeWS, "standup", "Alice", mintToken(t, "standup", "alice", allGrants))
	bob := joinWithToken(t, ts, modeWS, "standup", "Bob", mintToken(t, "standup", "bob", allGrants))
	video := alice.publishAV()
	bob.receivesFrom(t, 5, alice)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := alice.Unpublish(ctx, video); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		got := rv.inRoom("standup")
		return slices.ContainsFunc(got, func(e webhook.Event) bool { return e.Type == webhook.TrackUnpublished }),
			"events so far: " + describe(got)
	})
	alice.close()
	waitFor(t, 10*time.Second, func() (bool, string) {
		got := rv.inRoom("standup")
		return slices.ContainsFunc(got, func(e webhook.Event) bool { return e.Type == webhook.ParticipantLeft }),
			"events so far: " + describe(got)
	})
	bob.close()
	got := rv.waitFinished(t, "standup")
	rv.check(t)

	// The two tracks start in either order.
	want := []string{"room_started", "participant_joined/Alice", "participant_joined/Bob",
		"track_published/Alice/camera", "track_published/Alice/microphone",
		"track_unpublished/Alice/camera", "track_unpublished/Alice/microphone", "participant_left/Alice",
		"participant_left/Bob", "room_finished"}
	list := strings.Split(describe(got), " ")
	if len(list) > 4 && list[3] > list[4] {
		list[3], list[4] = list[4], list[3]
	}
	if !slices.Equal(list, want) {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(list, " "), strings.Join(want, " "))
	}
	for _, e := range got {
		if e.Room.Kind != "sfu" {
			t.Errorf("%s: room kind %q", e.Type, e.Room.Kind)
		}
		if p := e.Participant; p != nil {
			wantID := alice.Self.ID
			if p.Name == "Bob" {
				wantID = bob.Self.ID
			}
			if p.ID != wantID || p.Identity != strings.ToLower(p.Name) || p.Transport != "websocket" {
				t.Errorf("%s: participant %+v", e.Type, *p)
			}
		}
		if tr := e.Track; tr != nil && (tr.ID == "" || tr.Kind != map[string]string{"camera": "video", "microphone": "audio"}[tr.Source]) {
			t.Errorf("%s: track %+v", e.Type, *tr)
		}
	}
	if st := ts.WebhookStats(); st.Retried != 2 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 2 retries", st)
	}
}

// TestWebhooksOfInterleavedRooms: the events of an SFU room (a native peer and a
// WHIP publisher), a mesh room and an sfu-ws client's room, interleaved, each
// arrive in their room's order; without an API key they come unsigned.
func TestWebhooksOfInterleavedRooms(t *testing.T) {
	rv := &hookReceiver{}
	url := startReceiver(t, rv)
	ts := startServerWith(t, modeWS, server.Config{MeshRooms: []string{"p2p-*"},
		Webhooks: webhook.Config{URLs: []string{url}}})

	a := joinPeer(t, ts, "sfu-a", "Ann")
	m1 := joinMesh(t, ts, "p2p-b", "Mia")
	w := publishWHIP(t, ts, "sfu-a", 100_000, false)
	m2 := joinMesh(t, ts, "p2p-b", "Max")
	legacy := joinSFUWS(t, "ws"+strings.TrimPrefix(ts.URL, "http")+"/compat/sfu-ws?room=sfu-c&name=Leo")
	a.receivesFromWHIP(t)
	waitFor(t, 10*time.Second, func() (bool, string) {
		got := rv.inRoom("sfu-c")
		return len(got) >= 2, "sfu-ws room: " + describe(got)
	})
	m1.Close()
	w.delete()
	m2.Close()
	legacy.close()
	a.close()
	sfuEvents := rv.waitFinished(t, "sfu-a")
	meshEvents := rv.waitFinished(t, "p2p-b")
	legacyEvents := rv.waitFinished(t, "sfu-c")
	rv.check(t)

	legacyEvents = slices.DeleteFunc(legacyEvents, func(e webhook.Event) bool { return e.Track != nil })
	if got, want := describe(legacyEvents), "room_started participant_joined/Leo participant_left/Leo room_finished"; got != want {
		t.Errorf("sfu-ws room: %s\nwant %s", got, want)
	}
	if p := legacyEvents[1].Participant; p.Transport != "sfu-ws" {
		t.Errorf("sfu-ws participant: %+v", *p)
	}

	if got, want := describe(meshEvents),
		"room_started participant_joined/Mia participant_joined/Max participant_left/Mia participant_left/Max room_finished"; got != want {
		t.Errorf("mesh room: %s\nwant %s", got, want)
	}
	for _, e := range meshEvents {
		if e.Room.Kind != "mesh" || (e.Participant != nil && e.Participant.Transport != "native") {
			t.Errorf("mesh room: %+v", e)
		}
	}
	// The WHIP publisher's tracks are published after it joins and unpublished
	// before it leaves, in either order among themselves.
	list := strings.Split(describe(sfuEvents), " ")
	for i := 3; i+1 < 5 && list[i] > list[i+1]; i++ {
		list[i], list[i+1] = list[i+1], list[i]
	}
	for i := 5; i+1 < 7 && list[i] > list[i+1]; i++ {
		list[i], list[i+1] = list[i+1], list[i]
	}
	want := []string{"room_started", "participant_joined/Ann", "participant_joined/WHIP",
		"track_published/WHIP/camera", "track_published/WHIP/microphone",
		"track_unpublished/WHIP/camera", "track_unpublished/WHIP/microphone", "participant_left/WHIP",
		"participant_left/Ann", "room_finished"}
	if !slices.Equal(list, want) {
		t.Errorf("sfu room: %s\nwant %s", strings.Join(list, " "), strings.Join(want, " "))
	}
}

// receivesFromWHIP waits for video from a WHIP publisher in p's room.
func (p *peer) receivesFromWHIP(t *testing.T) {
	t.Helper()
	waitFor(t, 15*time.Second, func() (bool, string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, rt := range p.tracks {
			if rt.info.Kind == "video" && rt.packets.Load() > 0 {
				return true, ""
			}
		}
		return false, "no video from the WHIP publisher yet"
	})
}

func TestWebhookConfigRefused(t *testing.T) {
	keys := map[string]string{apiKey: apiSecret}
	for name, cfg := range map[string]server.Config{
		"unknown key":         {APIKeys: keys, Webhooks: webhook.Config{URLs: []string{"http://127.0.0.1:1/"}, KeyID: "nope"}},
		"key without keys":    {Webhooks: webhook.Config{URLs: []string{"http://127.0.0.1:1/"}, KeyID: apiKey}},
		"not an http URL":     {APIKeys: keys, Webhooks: webhook.Config{URLs: []string{"ftp://127.0.0.1/"}}},
		"not an absolute URL": {Webhooks: webhook.Config{URLs: []string{"/hook"}}},
	} {
		cfg.Logger = testLogger()
		if srv, err := server.New(cfg); err == nil {
			_ = srv.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestWebhooksOfAReplacement: a participant replaced by a new connection with its
// identity leaves before the newcomer joins.
func TestWebhooksOfAReplacement(t *testing.T) {
	rv := &hookReceiver{secret: apiSecret, key: apiKey}
	url := startReceiver(t, rv)
	ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret},
		Webhooks: webhook.Config{URLs: []string{url}}})
	first := joinWithToken(t, ts, modeWS, "desk", "Ada", mintToken(t, "desk", "ada", allGrants))
	second := joinWithToken(t, ts, modeWS, "desk", "Ada again", mintToken(t, "desk", "ada", allGrants))
	second.close()
	first.close()
	got := rv.waitFinished(t, "desk")
	rv.check(t)
	if d, want := describe(got),
		"room_started participant_joined/Ada participant_left/Ada participant_joined/Ada again participant_left/Ada again room_finished"; d != want {
		t.Errorf("events %s\nwant %s", d, want)
	}
}
