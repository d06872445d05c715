package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// TestHTTPTimeouts: the http.Server of NewHTTPServer cuts off a client that trickles
// its body or keeps an idle connection, refuses oversized headers, and leaves the
// signaling streams (WebSocket, SSE) alone for longer than its read and write timeouts.
func TestHTTPTimeouts(t *testing.T) {
	short := server.HTTPOptions{ReadTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: time.Second}
	t.Run("slow body", func(t *testing.T) {
		ts := startHTTPServer(t, modeWS, short)
		conn := dial(t, ts)
		fmt.Fprintf(conn, "POST /whip/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 1000\r\n\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go trickle(conn, stop)
		waitConnClosed(t, conn, conn, "a body trickled one byte every 100 ms for 1000 bytes (read timeout 1 s)")
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		ts := startHTTPServer(t, modeWS, short)
		conn := dial(t, ts)
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatal("the server closed the connection after one request: keep-alive is off")
		}
		waitConnClosed(t, br, conn, "an idle keep-alive connection (idle timeout 1 s)")
	})
	t.Run("oversized headers", func(t *testing.T) {
		ts := startHTTPServer(t, modeWS, server.HTTPOptions{})
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Big", strings.Repeat("a", server.DefaultMaxHeaderBytes+8<<10))
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("headers of %d KiB: %s, want 431", (server.DefaultMaxHeaderBytes+8<<10)>>10, resp.Status)
		}
	})
	t.Run("signaling streams outlive the timeouts", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ts := startHTTPServer(t, m, short)
			alice := joinPeer(t, ts, "long", "alice")
			bob := joinPeer(t, ts, "long", "bob")
			alice.publishAV()
			bob.publishAV()
			alice.receivesFrom(t, 20, bob)
			bob.receivesFrom(t, 20, alice)
			// Let the streams live three times past the read, write and idle
			// timeouts; then a newcomer's tracks reach both only if their signaling
			// still carries the offers that add them. The SSE client resumes a
			// dropped stream: count that too.
			<-time.After(3 * time.Second)
			carol := joinPeer(t, ts, "long", "carol")
			carol.publishAV()
			alice.receivesFrom(t, 20, carol)
			bob.receivesFrom(t, 20, carol)
			for _, p := range []*peer{alice, bob} {
				if n := p.Resumes(); n != 0 {
					t.Errorf("%s's SSE stream dropped and was resumed %d times", p.name, n)
				}
			}
		})
	})
}

// startHTTPServer starts a server behind the http.Server of NewHTTPServer with o,
// whose peers connect over m (sse-http2: TLS and HTTP/2).
func startHTTPServer(t *testing.T, m mode, o server.HTTPOptions) *testServer {
	t.Helper()
	checkGoroutines(t)
	srv, err := server.New(server.Config{Media: sfu.Config{ICELoopback: true}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return listen(t, m, srv, server.NewHTTPServer("", srv, o))
}

func dial(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// trickle writes one byte every 100 ms until stop or a write fails.
func trickle(conn net.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := conn.Write([]byte("v")); err != nil {
				return
			}
		}
	}
}

// waitConnClosed reads (and discards) from conn, through r, until the server closes
// it, and fails if it is still open after 10 s.
func waitConnClosed(t *testing.T, r io.Reader, conn net.Conn, what string) {
	t.Helper()
	start := time.Now()
	if err := conn.SetReadDeadline(start.Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the connection is still open after %v", what, time.Since(start).Round(time.Millisecond))
	}
}

// TestSSEStreamIdleOverHTTP2: an SSE stream over HTTP/2 with nothing to say stays up
// between keepalives. (HTTP/2 resets a stream whose write deadline passes even when
// no write is pending: a deadline left over from the last write must not outlive it.)
func TestSSEStreamIdleOverHTTP2(t *testing.T) {
	ts := startServerWith(t, modeSSEH2, server.Config{})
	bob := joinPeer(t, ts, "idle", "bob")
	// Past the SSE transport's 10 s write deadline, within its 15 s keepalive; then
	// an event must come, over the stream bob opened (a reset stream is resumed at
	// once, and counted).
	<-time.After(12 * time.Second)
	alice := joinPeer(t, ts, "idle", "alice")
	expectEvent(t, bob.Client, func(m client.Event) bool {
		return m.Type == "participant-joined" && m.Participant().ID == alice.Self.ID
	}, "participant-joined for alice")
	if n := bob.Resumes(); n != 0 {
		t.Errorf("bob's idle stream dropped and was resumed %d times in 12 s", n)
	}
}
