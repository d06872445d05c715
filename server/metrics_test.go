package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/webhook"
)

// scraper reads a server's metrics over HTTP, from a listener of their own as the
// binary serves them (--metrics-addr).
type scraper struct {
	t   *testing.T
	url string
}

func newScraper(t *testing.T, ts *testServer) *scraper {
	hs := httptest.NewServer(ts.Metrics())
	t.Cleanup(hs.Close)
	return &scraper{t: t, url: hs.URL + "/metrics"}
}

// raw is the text of one scrape.
func (s *scraper) raw() string {
	s.t.Helper()
	resp, err := http.Get(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// scrape parses one scrape with Prometheus's text parser.
func (s *scraper) scrape() metricFamilies {
	s.t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(s.raw()))
	if err != nil {
		s.t.Fatalf("parse: %v", err)
	}
	return mfs
}

type metricFamilies map[string]*dto.MetricFamily

// value sums the samples of name whose labels include want (name=value pairs);
// a histogram's sample counts are summed.
func (mfs metricFamilies) value(name string, want ...string) float64 {
	sum := 0.0
	mf := mfs[name]
	if mf == nil {
		return 0
	}
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// transportOf is the transport label of participants joined over m.
func transportOf(m mode) string {
	if m == modeWS {
		return "websocket"
	}
	return "sse"
}

// TestMetricsDuringACall scrapes a server during a call of two participants: the
// room and its participants are counted, packets forwarded grow from one scrape to
// the next, and a refused request is counted by its code.
func TestMetricsDuringACall(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := startServerWith(t, m, server.Config{})
		sc := newScraper(t, ts)
		a, b := joinPeer(t, ts, "call", "alice"), joinPeer(t, ts, "call", "bob")
		a.publishAV()
		b.publishAV()
		a.receivesFrom(t, 20, b)
		b.receivesFrom(t, 20, a)

		first := sc.scrape()
		check := func(what string, got, want float64) {
			t.Helper()
			if got != want {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}
		check("sfu rooms", first.value("switchboard_rooms", "kind", "sfu"), 1)
		check("sfu participants", first.value("switchboard_participants", "kind", "sfu"), 2)
		check("sfu participants over "+transportOf(m),
			first.value("switchboard_participants", "kind", "sfu", "transport", transportOf(m)), 2)
		check("signaling sessions over "+transportOf(m),
			first.value("switchboard_signaling_sessions", "transport", transportOf(m)), 2)
		check("published video tracks", first.value("switchboard_published_tracks", "kind", "video"), 2)
		if n := first.value("switchboard_join_to_first_media_seconds"); n != 2 {
			t.Errorf("%v first-media observations, want 2", n)
		}
		if n := first.value("switchboard_ice_connect_duration_seconds", "side", "publisher"); n != 2 {
			t.Errorf("%v publisher ICE connect observations, want 2", n)
		}

		fwd := first.value("switchboard_forwarded_packets_total")
		if fwd == 0 || first.value("switchboard_forwarded_bytes_total") == 0 {
			t.Errorf("no packets or bytes forwarded counted after a call with media")
		}
		waitFor(t, 10*time.Second, func() (bool, string) {
			n := sc.scrape().value("switchboard_forwarded_packets_total")
			return n > fwd, fmt.Sprintf("forwarded packets %v, %v at the first scrape", n, fwd)
		})

		refused := first.value("switchboard_refusals_total", "code", "bad-request")
		resp, err := ts.client.Get(ts.URL + "/ws?room=" + url.QueryEscape("not a room/name"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad room name answered %d, want 400", resp.StatusCode)
		}
		check("bad-request refusals after one more",
			sc.scrape().value("switchboard_refusals_total", "code", "bad-request"), refused+1)

		if m != modeWS {
			return // an SSE session outlives its stream for a grace period
		}
		a.close()
		b.close()
		waitFor(t, 10*time.Second, func() (bool, string) {
			mfs := sc.scrape()
			n, r := mfs.value("switchboard_participants", "kind", "sfu"), mfs.value("switchboard_rooms", "kind", "sfu")
			return n == 0 && r == 0, fmt.Sprintf("%v participants in %v rooms after both left", n, r)
		})
	})
}

// TestMetricNamesFollowConventions lints a scrape taken during a call (so that every
// labelled metric has samples) with promlint. Webhooks are on, for their metrics.
func TestMetricNamesFollowConventions(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{
		Webhooks: webhook.Config{URLs: []string{startReceiver(t, &hookReceiver{})}}})
	sc := newScraper(t, ts)
	a, b := joinPeer(t, ts, "lint", "alice"), joinPeer(t, ts, "lint", "bob")
	a.publishAV()
	b.receivesFrom(t, 20, a)
	problems, err := promlint.New(strings.NewReader(sc.raw())).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	mfs := sc.scrape()
	if len(mfs) < 20 || mfs["switchboard_dropped_packets_total"] == nil || mfs["go_goroutines"] == nil {
		t.Errorf("%d metric families scraped; switchboard's or Go's missing", len(mfs))
	}

	// The dashboard shows metrics the server has.
	dashboard, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`\b(?:switchboard|go|process)_[a-z_]+`).FindAllString(string(dashboard), -1) {
		if mfs[strings.TrimSuffix(name, "_bucket")] == nil {
			t.Errorf("the dashboard shows %s, which the server does not have", name)
		}
	}
}

// TestMetricsCountWHIPAndWHEP: a WHIP publisher is a participant of transport whip,
// each WHEP viewer one of transport whep, and what viewers receive is forwarded.
func TestMetricsCountWHIPAndWHEP(t *testing.T) {
	ts := startServer(t)
	sc := newScraper(t, ts)
	publishWHIP(t, ts, "r", 300_000, true)
	viewers := []*whipPeer{watchWHEP(t, ts, "/whep/r"), watchWHEP(t, ts, "/whep/r")}
	for i, v := range viewers {
		waitFor(t, 15*time.Second, func() (bool, string) {
			n := v.videoCount.Load()
			return n >= 10, fmt.Sprintf("viewer %d has %d video packets", i, n)
		})
	}
	mfs := sc.scrape()
	for _, c := range []struct {
		transport string
		want      float64
	}{{"whip", 1}, {"whep", 2}, {"websocket", 0}} {
		if got := mfs.value("switchboard_participants", "kind", "sfu", "transport", c.transport); got != c.want {
			t.Errorf("%s participants %v, want %v", c.transport, got, c.want)
		}
	}
	if got := mfs.value("switchboard_forwarded_packets_total", "kind", "video"); got < 20 {
		t.Errorf("%v video packets forwarded, want at least the 20 the viewers received", got)
	}
	if got := mfs.value("switchboard_published_tracks", "source", "camera"); got != 1 {
		t.Errorf("%v camera tracks published, want 1", got)
	}
}

// TestMetricsOfMeshRoomsAndWebhooks: mesh members are counted by transport, and the
// webhook sender's deliveries and retries are counted (and named by the rules).
func TestMetricsOfMeshRoomsAndWebhooks(t *testing.T) {
	rv := &hookReceiver{failFirst: 1}
	ts := startServerWith(t, modeWS, server.Config{MeshRooms: []string{"p2p-*"},
		Webhooks: webhook.Config{URLs: []string{startReceiver(t, rv)}, MinBackoff: 5 * time.Millisecond}})
	sc := newScraper(t, ts)
	joinMesh(t, ts, "p2p-b", "Mia")
	joinPeer(t, ts, "sfu-a", "Ann")
	waitFor(t, 10*time.Second, func() (bool, string) {
		mfs := sc.scrape()
		mesh := mfs.value("switchboard_participants", "kind", "mesh", "transport", "websocket")
		delivered := mfs.value("switchboard_webhook_events_total", "result", "delivered")
		retries := mfs.value("switchboard_webhook_retries_total")
		return mesh == 1 && delivered >= 4 && retries >= 1,
			fmt.Sprintf("%v mesh participants over websocket, %v webhook events delivered, %v retries; want 1, 4 (two rooms started, two joins), 1",
				mesh, delivered, retries)
	})
	problems, err := promlint.New(strings.NewReader(sc.raw())).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}
