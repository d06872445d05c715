package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/bench"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
)

func startServer(t *testing.T, media sfu.Config) string {
	t.Helper()
	media.ICELoopback = true
	srv, err := server.New(server.Config{Media: media, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return hs.URL
}

// TestBenchReportIsComplete runs a short bench of each protocol against an
// in-process server and checks that every field of the JSON report is present and
// that packets were delivered. The in-process server's pid is this test's, so the
// server figures are filled in (and include the load generator's own work). It runs
// against a server with the one shared UDP port and one with a port per connection.
func TestBenchReportIsComplete(t *testing.T) {
	for name, media := range map[string]sfu.Config{"shared-port": {}, "port-per-connection": {PortPerConnection: true}} {
		t.Run(name, func(t *testing.T) { testBenchReport(t, startServer(t, media)) })
	}
}

func testBenchReport(t *testing.T, target string) {
	for _, proto := range []string{bench.ProtocolNative, bench.ProtocolWHIP} {
		t.Run(proto, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var progress bytes.Buffer
			rep, err := bench.Run(ctx, bench.Config{
				Target: target, Protocol: proto, Subscribers: 3, Bitrate: 300_000,
				Duration: 2 * time.Second, ServerPID: os.Getpid(), Room: "bench-" + proto,
			}, &progress)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]any
			if err := json.Unmarshal(b, &fields); err != nil {
				t.Fatal(err)
			}
			for _, name := range jsonNames(reflect.TypeOf(bench.Report{})) {
				if _, ok := fields[name]; !ok {
					t.Errorf("report has no %q: %s", name, b)
				}
			}
			server, _ := fields["server"].(map[string]any)
			for _, name := range jsonNames(reflect.TypeOf(bench.ServerReport{})) {
				if _, ok := server[name]; !ok {
					t.Errorf("server report has no %q: %s", name, b)
				}
			}
			if rep.PeersConnected != 4 || rep.PeersFailed != 0 || rep.Packets == 0 || rep.LatencyP50 <= 0 ||
				rep.FirstPacketP50 <= 0 || rep.FirstKeyframeP50 < rep.FirstPacketP50 || rep.Server.CPUSeconds <= 0 || rep.Server.PeakRSS <= 0 {
				t.Errorf("implausible report: %s", b)
			}
			// Each receiving peer gets the publisher's audio and video with little loss.
			// On a loaded machine under the race detector the synthetic publisher itself
			// falls behind its clock (it sends what its ticks allow), so the count is held
			// to a quarter of what the bitrate and duration would make, and the loss,
			// which counts what was sent and not received, to 10 %.
			want := float64(rep.Subscribers) * syntheticPacketsPerSecond(rep.Bitrate) * rep.Duration
			if float64(rep.Packets) < want/4 || rep.LossPercent > 10 {
				t.Errorf("delivered %d packets (%.1f%% lost) to %d peers in %.1f s, want at least a quarter of %.0f with at most 10%% lost",
					rep.Packets, rep.LossPercent, rep.Subscribers, rep.Duration, want)
			}
			if !strings.Contains(progress.String(), "pkt/s") {
				t.Errorf("no progress lines: %q", progress.String())
			}
		})
	}
}

// jsonNames lists the JSON names of t's fields.
func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

func TestBenchRefusesRemoteTargets(t *testing.T) {
	for _, target := range []string{"http://192.0.2.1:8080", "http://10.0.0.1"} {
		_, err := bench.Run(context.Background(), bench.Config{Target: target}, nil)
		if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("target %s: %v, want a refusal naming --allow-remote", target, err)
		}
	}
}

func TestBaselineRelays(t *testing.T) {
	rep, err := bench.Baseline(context.Background(), bench.BaselineConfig{Receivers: 5, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// A send may fail (a full socket buffer) and a loaded machine skips ticks, so the
	// count need not be what the source's clock asks for; it must be a good part of
	// it (a quarter, under the race detector beside other tests), and show its cost.
	want := 5 * syntheticPacketsPerSecond(rep.Bitrate) * rep.Duration
	if float64(rep.Packets) < want/4 || rep.CPUSeconds <= 0 || rep.PacketsPerCPUSecond <= 0 {
		t.Errorf("relayed %d packets to 5 receivers in %.2f s on %v CPU s, want at least a quarter of %.0f",
			rep.Packets, rep.Duration, rep.CPUSeconds, want)
	}
}

// syntheticPacketsPerSecond is the packets a second of the synthetic stream at
// videoBitrate (client.SendSynthetic): 30 video frames of packets up to 1200 bytes,
// and 50 audio packets.
func syntheticPacketsPerSecond(videoBitrate int) float64 {
	perFrame := (videoBitrate/8/30 + 1199) / 1200
	return float64(30*max(1, perFrame) + 50)
}

// TestBenchSimulcast runs a short bench whose publisher sends simulcast and whose
// subscribers send TWCC feedback: every peer connects and media flows.
func TestBenchSimulcast(t *testing.T) {
	target := startServer(t, sfu.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Config{Target: target, Subscribers: 2, Bitrate: 600_000,
		Duration: 2 * time.Second, Room: "bench-simulcast", Simulcast: true, TWCC: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.PeersConnected != 3 || rep.PeersFailed != 0 || rep.Packets == 0 {
		t.Errorf("connected %d, failed %d, packets %d: want 3, 0 and some", rep.PeersConnected, rep.PeersFailed, rep.Packets)
	}
}
