package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/peertest"
)

// TestExample starts the Fiber application on a free port; two Pion peers join one
// room through its WebSocket handler and receive each other's media, and the browser
// client is served.
func TestExample(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, true, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	addr := ln.Addr().String()

	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<script") {
		t.Errorf("GET /: %s %.200q, want the browser client's page", resp.Status, page)
	}

	// The upgrade is admitted as the server's own: a bad room name is refused
	// before the upgrade, with the server's JSON refusal.
	req, err := http.NewRequest("GET", "http://"+addr+"/ws?room=a%20b", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
		req.Header.Set(k, v)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"code":"bad-request"`) {
		t.Errorf("upgrade to a bad room name: %s %s, want 400 bad-request", resp.Status, body)
	}

	alice := peertest.Join(t, "ws://"+addr+"/ws", "fiber", "alice", nil)
	bob := peertest.Join(t, "ws://"+addr+"/ws", "fiber", "bob", nil)
	alice.PublishAV(t)
	bob.PublishAV(t)
	alice.WaitReceives(t, 20, bob)
	bob.WaitReceives(t, 20, alice)

	// Leaving closes the WebSocket from the server's side.
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer lcancel()
	if err := alice.Leave(lctx); err != nil {
		t.Errorf("alice: leave: %v", err)
	}
}
