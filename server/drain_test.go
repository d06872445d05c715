package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestDrainRefusesNewSessions: while the server drains, every entry point that opens
// a session refuses with 503 draining and Retry-After, over every transport and for
// embedders (Admit); an SSE stream resuming its session is not refused by it; the
// call in progress goes on; Drain returns when the last participant leaves.
func TestDrainRefusesNewSessions(t *testing.T) {
	ts := startServer(t)
	a, b := joinPeer(t, ts, "r", "a"), joinPeer(t, ts, "r", "b")
	a.publishAV()
	b.receivesFrom(t, 20, a)

	ready := func() int {
		resp, err := ts.client.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/readyz before drain: %d", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- ts.Drain(ctx) }()
	waitFor(t, 5*time.Second, func() (bool, string) { return ready() == http.StatusServiceUnavailable, "/readyz still 200" })

	for _, req := range []struct{ method, path, body string }{
		{"GET", "/ws?room=r", ""},
		{"GET", "/sse?room=r", ""},
		{"GET", "/compat/sfu-ws", ""},
		{"POST", "/whip/r", pionOffer(t)},
		{"POST", "/whep/r", pionOffer(t)},
	} {
		r, _ := http.NewRequest(req.method, ts.URL+req.path, strings.NewReader(req.body))
		r.Header.Set("Content-Type", "application/sdp")
		resp, err := ts.client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(body), `"draining"`) {
			t.Errorf("%s %s while draining: %d, Retry-After %q, %s", req.method, req.path, resp.StatusCode,
				resp.Header.Get("Retry-After"), body)
		}
	}
	r, _ := http.NewRequest("GET", ts.URL+"/ws?room=r", nil)
	r.RemoteAddr = "127.0.0.1:1"
	if _, err := ts.Admit(r); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("Admit while draining: %v", err)
	}
	r, _ = http.NewRequest("GET", ts.URL+"/sse?room=r", nil)
	r.Header.Set("Last-Event-ID", "nosuchsession:0")
	resp, err := ts.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		t.Errorf("an SSE stream resuming its session was refused while draining")
	}

	for _, p := range []*peer{a, b} {
		waitEvent(t, p.Client, func(e client.Event) bool { return e.Type == wire.TypeDraining }, "draining")
	}
	b.receivesFrom(t, 20, a)
	select {
	case err := <-drained:
		t.Fatalf("Drain returned with participants in: %v", err)
	default:
	}
	a.close()
	b.close()
	select {
	case err := <-drained:
		if err != nil {
			t.Errorf("Drain: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return after the last participant left")
	}
}
