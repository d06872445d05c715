package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/signal/sse"
	"github.com/switchboard-rtc/switchboard/wire"
)

// cuttable is an HTTP client whose connections a test can cut, and whose new
// connections it can refuse for a while: a network that drops.
type cuttable struct {
	*http.Client
	mu      sync.Mutex
	conns   []net.Conn
	refused bool
}

func newCuttable(ts *testServer) *cuttable {
	c := &cuttable{}
	tr := ts.client.Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c.mu.Lock()
		refused := c.refused
		c.mu.Unlock()
		if refused {
			return nil, errors.New("test: network down")
		}
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()
		}
		return conn, err
	}
	c.Client = &http.Client{Transport: tr}
	return c
}

// cut closes every connection and refuses new ones until restore.
func (c *cuttable) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refused = true
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.conns = nil
}

func (c *cuttable) restore() {
	c.mu.Lock()
	c.refused = false
	c.mu.Unlock()
}

// TestSSEResume drops a participant's event stream mid-session and lets it reconnect
// with Last-Event-ID: it stays in the room, receives every event sent meanwhile
// exactly once and in order (the client fails on a gap or a repeat), and media keeps
// flowing both ways.
func TestSSEResume(t *testing.T) {
	for _, m := range []mode{modeSSE, modeSSEH2} {
		t.Run(string(m), func(t *testing.T) { testSSEResume(t, m) })
	}
}

func testSSEResume(t *testing.T, m mode) {
	ts := startServerWith(t, m, server.Config{})
	net := newCuttable(ts)
	t.Cleanup(net.CloseIdleConnections)
	const room = "flaky"
	alice := joinPeerWith(t, ts, m, net.Client, room, "alice")
	// Bob uses WebSocket where he can (not on the HTTP/2-only TLS test server).
	bobMode := modeWS
	if m == modeSSEH2 {
		bobMode = m
	}
	bob := joinPeerWith(t, ts, bobMode, ts.client, room, "bob")
	alice.publishAV()
	bob.publishAV()
	alice.receivesFrom(t, 20, bob)
	bob.receivesFrom(t, 20, alice)

	net.cut()
	const n = 30
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		if err := bob.Chat(ctx, fmt.Sprintf("while away %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Bob's own copies come after alice's in the room's order: once he has all of
	// them, all of hers were sent to her stream, which is down.
	expectChats(t, bob.Client, "while away", n)
	net.restore()

	expectChats(t, alice.Client, "while away", n)
	waitFor(t, 10*time.Second, func() (bool, string) {
		return alice.Resumes() >= 1, fmt.Sprintf("alice resumed %d times", alice.Resumes())
	})
	select {
	case <-alice.Done():
		t.Fatalf("alice's session ended: %v", alice.Err())
	default:
	}
	if got := len(ts.Rooms().Room(room).Participants()); got != 2 {
		t.Errorf("room has %d participants after the drop, want 2", got)
	}
	alice.receivesFrom(t, 20, bob)
	bob.receivesFrom(t, 20, alice)
	// And the session still takes her messages.
	if err := alice.Chat(ctx, "back"); err != nil {
		t.Fatal(err)
	}
	expectChats(t, bob.Client, "back", 1)
}

// expectChats waits for n chat events whose text starts with prefix, numbered 0 to
// n-1 in order when n > 1, and fails on one out of order or repeated.
func expectChats(t *testing.T, c *client.Client, prefix string, n int) {
	t.Helper()
	got := 0
	deadline := time.After(10 * time.Second)
	for got < n {
		select {
		case m := <-c.Events():
			if m.Type != "chat" || !strings.HasPrefix(m.Chat().Text, prefix) {
				continue
			}
			want := prefix
			if n > 1 {
				want = fmt.Sprintf("%s %d", prefix, got)
			}
			if m.Chat().Text != want {
				t.Fatalf("chat %q, want %q", m.Chat().Text, want)
			}
			got++
		case <-deadline:
			t.Fatalf("%d of %d chats %q arrived", got, n, prefix)
		}
	}
}

// TestSSEPostAuthorization posts with no secret, a wrong one and another session's,
// and too big a body: each is refused with a clear status and body, and neither
// session is disturbed.
func TestSSEPostAuthorization(t *testing.T) {
	ts := startServerWith(t, modeSSE, server.Config{})
	alice := joinPeer(t, ts, "auth", "alice")
	bob := joinPeer(t, ts, "auth", "bob")
	aliceID, aliceSecret := alice.SSESession()
	bobID, bobSecret := bob.SSESession()
	forged := []byte(`{"type":"chat","text":"forged"}`)

	cases := []struct {
		name, session, auth string
		body                []byte
		status              int
		says                string
	}{
		{"no secret", bobID, "", forged, http.StatusUnauthorized, "Authorization: Bearer"},
		{"not bearer", bobID, "Basic " + bobSecret, forged, http.StatusUnauthorized, "Authorization: Bearer"},
		{"wrong secret", bobID, "Bearer " + strings.Repeat("x", 43), forged, http.StatusForbidden, "not the session's"},
		{"another session's secret", bobID, "Bearer " + aliceSecret, forged, http.StatusForbidden, "not the session's"},
		{"unknown session", "s_nobody", "Bearer " + aliceSecret, forged, http.StatusNotFound, "no such session"},
		{"too big", aliceID, "Bearer " + aliceSecret, bytes.Repeat([]byte("x"), wire.MaxMessageSize+1),
			http.StatusRequestEntityTooLarge, "at most"},
	}
	for _, c := range cases {
		status, body := post(t, ts, c.session, c.auth, c.body)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %q, want %d and a body saying %q", c.name, status, body, c.status, c.says)
		}
	}
	_ = bobSecret

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range []*peer{alice, bob} {
		if err := p.Chat(ctx, "from "+p.name); err != nil {
			t.Fatalf("%s cannot chat after the refused posts: %v", p.name, err)
		}
	}
	for _, p := range []*peer{alice, bob} {
		seen := map[string]bool{}
		waitFor(t, 5*time.Second, func() (bool, string) {
			for {
				select {
				case m := <-p.Events():
					if m.Type == "chat" {
						seen[m.Chat().Text] = true
					}
					continue
				default:
				}
				break
			}
			if seen["forged"] {
				t.Fatalf("%s received the forged chat", p.name)
			}
			return seen["from alice"] && seen["from bob"], fmt.Sprintf("%s has seen chats %v", p.name, seen)
		})
	}
	if got := len(ts.Rooms().Room("auth").Participants()); got != 2 {
		t.Errorf("room has %d participants, want 2", got)
	}
}

func post(t *testing.T, ts *testServer, session, auth string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.SSEURL+"/"+session, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, string(b)
}

// TestSSEStream checks what proxies and EventSource see: the headers that stop
// buffering, a first event with the session, and keepalive comments on an idle
// stream.
func TestSSEStream(t *testing.T) {
	for _, m := range []mode{modeSSE, modeSSEH2} {
		t.Run(string(m), func(t *testing.T) {
			ts := startServerWith(t, m, server.Config{SSE: sse.Options{Keepalive: 50 * time.Millisecond}})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.SSEURL, nil)
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if m == modeSSEH2 && resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2", resp.Proto)
			}
			for k, want := range map[string]string{"Content-Type": "text/event-stream",
				"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			lines := bufio.NewScanner(resp.Body)
			var seen []string
			for lines.Scan() && len(seen) < 20 {
				seen = append(seen, lines.Text())
				if lines.Text() == ": keepalive" {
					break
				}
			}
			text := strings.Join(seen, "\n")
			if !strings.Contains(text, "event: session\nid: s_") || !strings.Contains(text, `"secret":"`) ||
				!strings.HasSuffix(text, ": keepalive") {
				t.Errorf("stream began with:\n%s\nwant a session event, then a keepalive comment", text)
			}
		})
	}
}

// TestSSECloseEndsStreams: Close ends every session, and each open stream gets the
// end event and finishes, so that http.Server.Shutdown does not wait for streams.
func TestSSECloseEndsStreams(t *testing.T) {
	ts := startServerWith(t, modeSSE, server.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.SSEURL, nil)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "data: ") {
	}
	_ = ts.Close()
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	if err := lines.Err(); err != nil || !slices.Contains(rest, "event: end") {
		t.Errorf("after Close the stream gave %q, %v; want the end event and EOF", rest, err)
	}
}
