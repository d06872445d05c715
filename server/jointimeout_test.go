package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestSessionsThatNeverJoinAreEnded: a client that connects and only pings, never
// joining, is told join-timeout and disconnected once the join deadline passes, on
// every transport and through RunSession; a client that joined in time stays.
func TestSessionsThatNeverJoinAreEnded(t *testing.T) {
	const deadline = time.Second
	cfg := server.Config{Liveness: server.Liveness{JoinTimeout: deadline}}
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, cfg)
		stays := joinPeer(t, ts, "deadline", "stays")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		opened := time.Now()
		idle, err := client.Connect(ctx, ts.signalURL(m), client.Options{HTTPClient: ts.client})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(idle.Close)
		pingUntilEnded(t, ctx, idle)
		if took := time.Since(opened); took < deadline {
			t.Errorf("the session was ended %v after it opened, before the deadline of %v", took, deadline)
		}
		if !toldCode(idle, "join-timeout") {
			t.Error("the client was not told join-timeout before the connection closed")
		}
		switch err := idle.Err(); m {
		case modeWS:
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "join timeout" {
				t.Errorf("connection ended with %v, want close 1008 \"join timeout\"", err)
			}
		default:
			if err == nil || !strings.Contains(err.Error(), "join timeout") {
				t.Errorf("session ended with %v, want an end event saying join timeout", err)
			}
		}
		// stays connected before idle did: its deadline has passed too.
		select {
		case <-stays.Done():
			t.Fatalf("a joined client was disconnected: %v", stays.Err())
		default:
		}
		if n := len(ts.Rooms().Room("deadline").Participants()); n != 1 {
			t.Errorf("%d participants in the room, want the one that joined", n)
		}
	})
	t.Run("RunSession", func(t *testing.T) {
		ts := startServerWith(t, modeWS, cfg)
		out := &discardOutbox{}
		done := make(chan error, 1)
		go func() { done <- ts.RunSession(out, func(*signal.Session) {}) }()
		select {
		case err := <-done:
			if !errors.Is(err, signal.ErrJoinTimeout) {
				t.Fatalf("RunSession returned %v, want ErrJoinTimeout", err)
			}
		case <-time.After(10 * deadline):
			t.Fatalf("a session that never joined still runs %v after it opened", 10*deadline)
		}
	})
}

// pingUntilEnded pings over c, as an idle client keeps its connection, until the
// server ends it; it fails if that has not happened when ctx ends.
func pingUntilEnded(t *testing.T, ctx context.Context, c *client.Client) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for pings := 0; ; pings++ {
		select {
		case <-c.Done():
			return
		case <-ctx.Done():
			t.Fatalf("the session is still open after %d pings and no join", pings)
		case <-tick.C:
			_ = c.Send(ctx, wire.TypePing, nil)
		}
	}
}

// toldCode reports whether c, whose connection has ended, received an error with code
// and a message.
func toldCode(c *client.Client, code string) bool {
	for {
		ev, ok := nextEvent(c)
		if !ok {
			return false
		}
		if ev.Type == "error" && ev.Error().Code == code && ev.Error().Message != "" {
			return true
		}
	}
}

// discardOutbox takes every message and keeps none.
type discardOutbox struct{}

func (discardOutbox) Send([]byte) bool { return true }
