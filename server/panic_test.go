package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// faultyRooms is the server's own room directory with faults injected for
// participants of chosen names: a panic in the join handler, in the Pion callback
// that reports an ICE candidate, and in the subscriber's operation queue (the
// callback that carries an offer).
type faultyRooms struct {
	inner *sfu.Rooms // set once the server exists
}

const (
	nameDoomedJoin      = "doomed-join"
	nameDoomedCandidate = "doomed-candidate"
	nameDoomedOffer     = "doomed-offer"
	nameDoomedNotice    = "doomed-notice"
)

// JoinWith is what the native transports and the sfu-ws compatibility endpoint
// join through.
func (f *faultyRooms) JoinWith(room sfu.RoomID, name string, obs sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error) {
	switch name {
	case nameDoomedJoin:
		panic("injected fault: join")
	case nameDoomedCandidate, nameDoomedOffer:
		obs.Connection = &faultyConnection{ConnectionObserver: obs.Connection, name: name}
	case nameDoomedNotice:
		obs.Room = &faultyRoomEvents{RoomObserver: obs.Room}
	}
	return f.inner.JoinWith(room, name, obs, opts)
}

// faultyConnection panics where its name says.
type faultyConnection struct {
	sfu.ConnectionObserver
	name string
}

func (o *faultyConnection) Candidate(side sfu.Side, c webrtc.ICECandidateInit) {
	if o.name == nameDoomedCandidate {
		panic("injected fault: candidate")
	}
	o.ConnectionObserver.Candidate(side, c)
}

func (o *faultyConnection) SubscriberOffer(sdp string, tracks []sfu.SubscribedTrack) {
	if o.name == nameDoomedOffer {
		panic("injected fault: subscriber offer")
	}
	o.ConnectionObserver.SubscriberOffer(sdp, tracks)
}

// faultyRoomEvents panics when told of another participant joining.
type faultyRoomEvents struct{ sfu.RoomObserver }

// ParticipantJoined is called on the room's queue, for each member in turn.
func (o *faultyRoomEvents) ParticipantJoined(sfu.ParticipantInfo) {
	panic("injected fault: participant joined")
}

// TestPanicInOneClientSparesOthers injects a panic into the code that serves one
// client (its join handler, a Pion callback of its connection, its subscriber's
// operation queue, its part of a room-wide notification) and checks that the client alone is ended with an internal
// error, that the panic is counted and logged with its stack, and that two other
// participants' media keeps flowing.
func TestPanicInOneClientSparesOthers(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		rooms := &faultyRooms{}
		logs := &logCapture{}
		ts := startServerWith(t, m, server.Config{Rooms: rooms,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		rooms.inner = ts.Rooms()
		alice := joinPeer(t, ts, "r", "alice")
		bob := joinPeer(t, ts, "r", "bob")
		alice.publishAV()
		bob.publishAV()
		alice.receivesFrom(t, 20, bob)
		bob.receivesFrom(t, 20, alice)
		before := ts.Panics()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := client.Join(ctx, ts.signalURL(m), "r", nameDoomedJoin, client.Options{HTTPClient: ts.client})
		if err == nil || !strings.Contains(err.Error(), "internal") {
			t.Fatalf("join that panicked: got %v, want an internal error", err)
		}
		for _, name := range []string{nameDoomedCandidate, nameDoomedOffer} {
			expectInternalEnd(t, ts, m, name)
		}
		// A member whose notification of a join panics is ended; the join itself,
		// and the notification of everyone else, go through.
		notice := joinPeer(t, ts, "r", nameDoomedNotice)
		carol := joinPeer(t, ts, "r", "carol")
		waitFor(t, 10*time.Second, func() (bool, string) {
			select {
			case <-notice.Done():
				return true, ""
			default:
				return false, nameDoomedNotice + ": connection still open after its notification panicked"
			}
		})
		carol.receivesFrom(t, 20, alice, bob)
		want := int64(4)
		if m != modeSSEH2 { // the sfu-ws endpoint needs WebSocket over HTTP/1.1
			expectSFUWSInternalEnd(t, ts)
			want++
		}

		waitFor(t, 10*time.Second, func() (bool, string) {
			n := ts.Panics() - before
			return n >= want, fmt.Sprintf("%d panics counted, want %d", n, want)
		})
		// Each panic is one record at Error with its stack and the scope that
		// served the client: the session's transport and room while joining, the
		// participant's room and id in the media core.
		text := logs.String()
		for fault, scope := range map[string][]string{
			"injected fault: join":               {"transport=" + transportName(m), "room=r"},
			"injected fault: candidate":          {"room=r", "participant=p_"},
			"injected fault: subscriber offer":   {"room=r", "participant=p_"},
			"injected fault: participant joined": {"room=r", "participant=p_"},
		} {
			if !logged(text, append(scope, "level=ERROR", "msg=\"panic recovered\"", fault, "goroutine ")...) {
				t.Errorf("no log record has %q with its stack and %q", fault, scope)
			}
		}
		waitFor(t, 10*time.Second, func() (bool, string) {
			n := len(ts.Rooms().Room("r").Participants())
			return n == 3, fmt.Sprintf("%d participants in the room, want alice, bob and carol", n)
		})
		alice.receivesFrom(t, 50, bob)
		bob.receivesFrom(t, 50, alice)
	})
}

// expectInternalEnd joins name, whose session a fault ends, and waits for the
// internal error and the end of its connection.
func expectInternalEnd(t *testing.T, ts *testServer, m mode, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.signalURL(m), "r", name, client.Options{HTTPClient: ts.client})
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	defer c.Close()
	got := ""
	waitFor(t, 10*time.Second, func() (bool, string) {
		ended := false
		select {
		case <-c.Done():
			ended = true
		default:
		}
		for drained := false; !drained; {
			select {
			case ev := <-c.Events():
				if ev.Type == "error" {
					got = ev.Error().Code
				}
			default:
				drained = true
			}
		}
		if !ended {
			return false, fmt.Sprintf("%s: connection still open (error code so far %q)", name, got)
		}
		return got == "internal", fmt.Sprintf("%s: connection ended after error code %q, want internal", name, got)
	})
}

// expectSFUWSInternalEnd opens an sfu-ws connection whose participant's candidate
// callback panics, and waits for the server to close it with 1011.
func expectSFUWSInternalEnd(t *testing.T, ts *testServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/compat/sfu-ws?room=r&name=" + nameDoomedCandidate
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("sfu-ws: dial: %v", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue // the server's offer and candidates, left unanswered
		}
		if status := websocket.CloseStatus(err); status != websocket.StatusInternalError {
			t.Fatalf("sfu-ws connection whose candidate callback panicked ended with %v, want status 1011", err)
		}
		return
	}
}

// TestPanicInHTTPHandlerIsLoggedCountedAndAborted: an Authorize hook that panics for
// one request is logged on the server's logger with its stack and counted, that
// request's response is aborted, and the server goes on serving.
func TestPanicInHTTPHandlerIsLoggedCountedAndAborted(t *testing.T) {
	logs := &logCapture{}
	authorize := func(r *http.Request) error {
		if r.URL.Query().Get("room") == "doomed" {
			panic("injected fault: authorize")
		}
		return nil
	}
	ts := startServerWith(t, modeWS, server.Config{Authorize: authorize,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	before := ts.Panics()
	resp, err := ts.client.Get(ts.SSEURL + "?room=doomed")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the request whose handler panicked got %s, want it aborted", resp.Status)
	}
	if n := ts.Panics() - before; n != 1 {
		t.Errorf("%d panics counted, want 1", n)
	}
	text := logs.String()
	for _, want := range []string{"panic recovered", "injected fault: authorize", "path=/sse", "goroutine "} {
		if !strings.Contains(text, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	resp, err = ts.client.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatalf("healthz after the panic: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the panic: %s", resp.Status)
	}
}

// transportName is how a session over m names its transport in logs.
func transportName(m mode) string {
	if m == modeWS {
		return "websocket"
	}
	return "sse"
}

// logged reports whether one line of text contains every one of parts.
func logged(text string, parts ...string) bool {
	for line := range strings.Lines(text) {
		found := true
		for _, p := range parts {
			found = found && strings.Contains(line, p)
		}
		if found {
			return true
		}
	}
	return false
}
