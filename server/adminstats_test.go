package server_test

import (
	"fmt"
	"testing"
	"time"
)

// TestAdminParticipantStats: GET /v1/admin/rooms/{room}/participants/{id} reports the
// publisher's inbound streams and the subscriber's outbound ones with bitrate and
// growing packet counts, the transport, and host candidates on loopback.
func TestAdminParticipantStats(t *testing.T) {
	for _, m := range []mode{modeWS, modeSSE} { // adminCall speaks plain HTTP
		t.Run(string(m), func(t *testing.T) { participantStats(t, m) })
	}
}

func participantStats(t *testing.T, m mode) {
	ts := startAuthServer(t, m)
	a := joinWithToken(t, ts, m, "r", "a", mintToken(t, "r", "a", allGrants))
	b := joinWithToken(t, ts, m, "r", "b", mintToken(t, "r", "b", allGrants))
	a.publishAV()
	b.receivesFrom(t, 20, a)
	token := adminToken(t)
	stats := func(p *peer) map[string]any {
		status, body := adminCall(t, ts, "GET", "/v1/admin/rooms/r/participants/"+p.Self.ID, token)
		if status != 200 {
			t.Fatalf("GET participant %s: %d %v", p.name, status, body)
		}
		return body
	}
	// streams sums the packets of a's streams in list ("in" of a, "out" of b),
	// and reports the least bitrate.
	streams := func(body map[string]any, list string) (packets, minRate float64, n int) {
		minRate = -1
		for _, s := range body[list].([]any) {
			s := s.(map[string]any)
			if list == "out" && s["from"] != a.Self.ID {
				continue
			}
			n++
			packets += s["packets"].(float64)
			if r := s["bitrate"].(float64); minRate < 0 || r < minRate {
				minRate = r
			}
		}
		return packets, minRate, n
	}
	transport := string(m)
	var inBefore, outBefore float64
	waitFor(t, 10*time.Second, func() (bool, string) {
		sa, sb := stats(a), stats(b)
		in, inRate, nIn := streams(sa, "in")
		out, outRate, nOut := streams(sb, "out")
		inBefore, outBefore = in, out
		return nIn == 2 && nOut == 2 && inRate > 0 && outRate > 0,
			fmt.Sprintf("a publishes %d streams (least bitrate %v), b receives %d (least bitrate %v)", nIn, inRate, nOut, outRate)
	})
	waitFor(t, 10*time.Second, func() (bool, string) {
		in, _, _ := streams(stats(a), "in")
		out, _, _ := streams(stats(b), "out")
		return in > inBefore && out > outBefore, fmt.Sprintf("packets in %v (were %v), out %v (were %v)", in, inBefore, out, outBefore)
	})
	// a sends on its publisher connection, b receives on its subscriber one;
	// a's subscriber connection, with nothing to receive, never connects, and b,
	// publishing nothing, has no publisher connection.
	for _, tc := range []struct {
		p    *peer
		side string
	}{{a, "publisher"}, {b, "subscriber"}} {
		body := stats(tc.p)
		if body["transport"] != transport {
			t.Errorf("%s: transport %v, want %s", tc.p.name, body["transport"], transport)
		}
		found := false
		for _, c := range body["connections"].([]any) {
			c := c.(map[string]any)
			if c["side"] != tc.side {
				continue
			}
			found = true
			if c["local_candidate"] != "host" || c["remote_candidate"] != "host" || c["protocol"] != "udp" ||
				c["state"] != "connected" {
				t.Errorf("%s: connection %v: want connected, host candidates over udp", tc.p.name, c)
			}
		}
		if !found {
			t.Errorf("%s: no %s connection in %v", tc.p.name, tc.side, body["connections"])
		}
	}
	t.Logf("a: %v", stats(a))
	t.Logf("b: %v", stats(b))
	for _, s := range stats(b)["out"].([]any) {
		s := s.(map[string]any)
		if s["lost"].(float64) < 0 || s["jitter_ms"].(float64) < 0 {
			t.Errorf("b's stream %v: negative loss or jitter", s)
		}
	}
	if status, body := adminCall(t, ts, "GET", "/v1/admin/rooms/r/participants/p_nobody", token); status != 404 {
		t.Errorf("an unknown participant: %d %v", status, body)
	}
}
