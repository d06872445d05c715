package bench

import (
	"fmt"
	"io"
	"time"
)

// Report is the result of a run; its JSON form is what `switchboard bench --json`
// prints.
type Report struct {
	Target      string  `json:"target"`
	Protocol    string  `json:"protocol"`
	Shape       string  `json:"shape"`
	Publishers  int     `json:"publishers"`
	Subscribers int     `json:"subscribers"` // receiving peers
	Rooms       int     `json:"rooms"`
	Bitrate     int     `json:"bitrate_bps"` // video, per publisher
	Duration    float64 `json:"duration_s"`  // of the measurement window

	PeersConnected int `json:"peers_connected"`
	PeersFailed    int `json:"peers_failed"`

	FirstPacketP50 float64 `json:"first_packet_p50_ms"`
	FirstPacketP99 float64 `json:"first_packet_p99_ms"`
	// Time from a receiving peer's start to its first video keyframe: when it can
	// show a picture.
	FirstKeyframeP50 float64 `json:"first_keyframe_p50_ms"`
	FirstKeyframeP90 float64 `json:"first_keyframe_p90_ms"`

	Packets       uint64  `json:"delivered_packets"`
	PacketsPerSec float64 `json:"delivered_packets_per_s"`
	BitrateOut    float64 `json:"delivered_bps"`
	LossPercent   float64 `json:"loss_percent"`

	LatencyP50 float64 `json:"latency_p50_ms"`
	LatencyP95 float64 `json:"latency_p95_ms"`
	LatencyP99 float64 `json:"latency_p99_ms"`

	// Server figures, present when the server's pid was given.
	Server *ServerReport `json:"server,omitempty"`
}

// ServerReport is what the server spent during the measurement window.
type ServerReport struct {
	PID                 int     `json:"pid"`
	CPUSeconds          float64 `json:"cpu_s"`
	CPUPer100kPackets   float64 `json:"cpu_s_per_100k_packets"`
	PacketsPerCPUSecond float64 `json:"packets_per_cpu_s"`
	PeakRSS             int64   `json:"peak_rss_bytes"`
	RSSBefore           int64   `json:"rss_before_bytes"`
	RSSDuring           int64   `json:"rss_during_bytes"`
	// RSSPerSubscriber is the growth of RSS from before the run to its end divided by
	// the receiving peers.
	RSSPerSubscriber int64 `json:"rss_per_subscriber_bytes"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteText prints r for people.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s over %s against %s: %d publishers, %d receiving peers, %d room(s), video %d kbit/s\n",
		r.Shape, r.Protocol, r.Target, r.Publishers, r.Subscribers, r.Rooms, r.Bitrate/1000)
	fmt.Fprintf(w, "  peers connected %d, failed %d\n", r.PeersConnected, r.PeersFailed)
	fmt.Fprintf(w, "  time to first packet p50 %.1f ms, p99 %.1f ms\n", r.FirstPacketP50, r.FirstPacketP99)
	fmt.Fprintf(w, "  time to first keyframe p50 %.1f ms, p90 %.1f ms\n", r.FirstKeyframeP50, r.FirstKeyframeP90)
	fmt.Fprintf(w, "  delivered %d packets in %.1f s: %.0f packets/s, %.2f Mbit/s\n",
		r.Packets, r.Duration, r.PacketsPerSec, r.BitrateOut/1e6)
	fmt.Fprintf(w, "  loss %.3f%%; one-way latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n",
		r.LossPercent, r.LatencyP50, r.LatencyP95, r.LatencyP99)
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "  server pid %d: %.2f CPU s, %.3f CPU s per 100k delivered packets, %.0f packets per CPU second\n",
			s.PID, s.CPUSeconds, s.CPUPer100kPackets, s.PacketsPerCPUSecond)
		fmt.Fprintf(w, "  server RSS %.1f MiB before, %.1f MiB during, peak %.1f MiB; %.3f MiB per receiving peer\n",
			mib(s.RSSBefore), mib(s.RSSDuring), mib(s.PeakRSS), mib(s.RSSPerSubscriber))
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
