package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/peertest"
)

// TestExample starts the example on a free port and joins one room through it, one
// peer over WebSocket and one over SSE, both under the /rtc prefix with the token:
// each receives the other's media. Requests without the token are refused, and the
// application's own route still answers.
func TestExample(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, "let-me-in", true, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()

	if body := get(t, base+"/"); !strings.Contains(body, "own page") {
		t.Errorf("the application's route answered %q", body)
	}
	resp, err := http.Get(base + "/rtc/sse")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a stream without the token: %s, want 401", resp.Status)
	}
	// WHIP and WHEP go through the same hook.
	for _, path := range []string{"/rtc/whip/open", "/rtc/whep/open"} {
		resp, err := http.Post(base+path, "application/sdp", strings.NewReader("v=0\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without the token: %s, want 401", path, resp.Status)
		}
	}

	alice := peertest.Join(t, "ws://"+ln.Addr().String()+"/rtc/ws?token=let-me-in", "embedded", "alice", nil)
	bob := peertest.Join(t, base+"/rtc/sse?token=let-me-in", "embedded", "bob", nil)
	alice.PublishAV(t)
	bob.PublishAV(t)
	alice.WaitReceives(t, 20, bob)
	bob.WaitReceives(t, 20, alice)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return string(b)
}
