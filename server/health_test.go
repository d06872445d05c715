package server_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestHealthzReportsPeerConnections: /healthz says ok and how many peer connections
// the server holds, so that a test from outside (a browser test of mesh rooms) can
// tell that the server carries no media.
func TestHealthzReportsPeerConnections(t *testing.T) {
	ts := startServer(t)
	if n := healthzPeerConnections(t, ts); n != 0 {
		t.Fatalf("%d peer connections before anyone joined", n)
	}
	alice := joinPeer(t, ts, "room", "alice")
	alice.publishAV()
	waitFor(t, 10*time.Second, func() (bool, string) {
		n, want := healthzPeerConnections(t, ts), ts.OpenConnections()
		return n == want && n > 0, fmt.Sprintf("/healthz reports %d peer connections, the server holds %d", n, want)
	})
}

var peerConnectionsLine = regexp.MustCompile(`(?m)^peer_connections (\d+)$`)

func healthzPeerConnections(t *testing.T, ts *testServer) int {
	t.Helper()
	resp, err := ts.client.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		t.Fatal(err)
	}
	m := peerConnectionsLine.FindSubmatch(b)
	if resp.StatusCode != http.StatusOK || len(b) < 3 || string(b[:3]) != "ok\n" || m == nil {
		t.Fatalf("/healthz: %s %q, want 200 with ok and a peer_connections line", resp.Status, b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
