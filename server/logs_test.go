package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/server"
)

// logCapture collects a server's log lines, for assertions: as text, or decoded
// from JSON.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// String is everything logged so far.
func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// lines decodes every line logged so far.
func (c *logCapture) lines(t *testing.T) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(c.buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line not JSON: %s", line)
		}
		out = append(out, m)
	}
	return out
}

// requestID sets X-Request-ID on every request.
type requestID struct {
	id   string
	next http.RoundTripper
}

func (rt requestID) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Request-ID", rt.id)
	return rt.next.RoundTrip(r)
}

// TestLogFields: every log line that names a participant also names its room and
// transport, and the id of the request that opened its session, taken from the
// client's X-Request-ID; a WHIP session's lines too. Every response echoes its
// request id; an id that is not a sane token is replaced.
func TestLogFields(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		logs := &logCapture{}
		ts := startServerWith(t, m, server.Config{Logger: slog.New(slog.NewJSONHandler(logs,
			&slog.HandlerOptions{Level: slog.LevelDebug}))})
		hc := func(id string) *http.Client {
			return &http.Client{Transport: requestID{id: id, next: ts.client.Transport}}
		}
		a := joinPeerWith(t, ts, m, hc("req-a"), "r", "a")
		b := joinPeerWith(t, ts, m, hc("req-b"), "r", "b")
		a.publishAV()
		b.receivesFrom(t, 10, a)

		resp, err := hc("req-whip").Post(ts.URL+"/whip/r", "application/sdp", strings.NewReader(pionOffer(t)))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Request-ID") != "req-whip" {
			t.Fatalf("WHIP POST: %d, X-Request-ID %q", resp.StatusCode, resp.Header.Get("X-Request-ID"))
		}
		// Leave with a goodbye: closed without one, an SSE session waits out its grace
		// period (15 s), longer than the wait below.
		for _, p := range []*peer{b, a} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := p.Leave(ctx); err != nil {
				t.Errorf("%s: leave: %v", p.name, err)
			}
			cancel()
			p.close()
		}
		waitFor(t, 10*time.Second, func() (bool, string) {
			room := ts.Rooms().Room("r")
			return room != nil && len(room.Participants()) == 1, "a and b still in the room" // the WHIP publisher stays
		})

		ids := map[string]string{a.Self.ID: "req-a", b.Self.ID: "req-b"}
		transport := string(m)
		if m == modeSSEH2 {
			transport = "sse"
		}
		named := map[string]int{}
		for _, line := range logs.lines(t) {
			p, ok := line["participant"].(string)
			if !ok {
				continue
			}
			if line["room"] != "r" || line["transport"] == nil || line["request_id"] == nil {
				t.Errorf("a line naming participant %s lacks room, transport or request id: %v", p, line)
				continue
			}
			named[p]++
			if want, ok := ids[p]; ok && (line["request_id"] != want || line["transport"] != transport) {
				t.Errorf("a line of %s: request_id %v, transport %v; want %s, %s: %v", p, line["request_id"],
					line["transport"], want, transport, line)
			}
			if line["request_id"] == "req-whip" && (line["transport"] != "whip") {
				t.Errorf("a line of the WHIP session: transport %v: %v", line["transport"], line)
			}
		}
		for id, req := range ids {
			if named[id] == 0 {
				t.Errorf("no log line names participant %s (%s)", id, req)
			}
		}
		whip := 0
		for _, line := range logs.lines(t) {
			if line["request_id"] == "req-whip" && line["msg"] == "session started" && line["participant"] != nil {
				whip++
			}
		}
		if whip != 1 {
			t.Errorf("%d WHIP 'session started' lines with the request id and participant, want 1", whip)
		}
	})
}

// TestRequestIDEchoed: a response carries the request's X-Request-ID when it is a
// sane token, else a new id.
func TestRequestIDEchoed(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		header string
		kept   bool
	}{{"abc-123", true}, {"", false}, {"a b", false}, {strings.Repeat("x", 100), false}} {
		r, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
		if tc.header != "" {
			r.Header.Set("X-Request-ID", tc.header)
		}
		resp, err := ts.client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		got := resp.Header.Get("X-Request-ID")
		if (got == tc.header) != tc.kept || got == "" {
			t.Errorf("X-Request-ID %q: echoed %q", tc.header, got)
		}
	}
}
