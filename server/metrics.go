package server

import (
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/webhook"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Metrics: every metric of the server is registered on a registry of its own (never
// Prometheus's global one), served by Server.Metrics. Counters of the media path are
// atomics of the media core, read at scrape time by mediaCollector; the others are
// updated where they happen, none of them per packet. Labels take a bounded set of
// values: no room names, identities or ids. docs/operations.md lists them.

const ns = "switchboard"

// metrics is the server's registry and the metrics it updates itself.
type metrics struct {
	reg        *prometheus.Registry
	refusals   *prometheus.CounterVec // admission refusals, by code
	errorsSent *prometheus.CounterVec // error messages to clients, by code
	sessions   *prometheus.GaugeVec   // signaling sessions, by transport
	ice        *prometheus.HistogramVec
	firstMedia prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "refusals_total",
		Help: "Requests refused by admission, by code (the code of the JSON error answered)."}, []string{"code"})
	m.errorsSent = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "signal_errors_sent_total",
		Help: "Error messages sent to signaling clients, by code."}, []string{"code"})
	m.sessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "signaling_sessions",
		Help: "Signaling connections open now, by transport."}, []string{"transport"})
	m.ice = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "ice_connect_duration_seconds",
		Help:    "Time from a participant's peer connection being made to its being connected (ICE and DTLS), by side.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2, 3, 5, 10, 20}}, []string{"side"})
	m.firstMedia = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "join_to_first_media_seconds",
		Help:    "Time from a participant's join to the first media packet forwarded to it.",
		Buckets: []float64{.1, .25, .5, 1, 2, 3, 5, 10, 20, 60}})
	m.reg.MustRegister(m.refusals, m.errorsSent, m.sessions, m.ice, m.firstMedia,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: "panics_recovered_total",
			Help: "Panics stopped in code serving one client (process-wide)."}, func() float64 { return float64(safe.Count()) }))
	// Each transport and code is shown from the start, at zero, so that a rate over
	// it is defined before the first event.
	for _, t := range []string{"websocket", "sse", "sfu-ws"} {
		m.sessions.WithLabelValues(t)
	}
	for _, c := range refusalCodes {
		m.refusals.WithLabelValues(c)
	}
	for _, c := range wireErrorCodes {
		m.errorsSent.WithLabelValues(c)
	}
	return m
}

// refusalCodes are the codes admission answers with (admit.go), but internal.
var refusalCodes = []string{"rate-limited", "too-many-sessions", "forbidden-origin", "unauthorized", "bad-request",
	"forbidden", "admin-disabled", "draining", "unavailable"}

// wireErrorCodes are the codes of the native protocol's error messages.
var wireErrorCodes = []string{wire.CodeBadJSON, wire.CodeUnknownType, wire.CodeBadRequest, wire.CodeNotJoined,
	wire.CodeAlreadyJoined, wire.CodeInvalidSDP, wire.CodeInvalidCandidate, wire.CodeNoOffer, wire.CodeForbidden,
	wire.CodeReplaced, wire.CodeRemoved, wire.CodeRoomClosed, wire.CodeInternal, wire.CodeRateLimited,
	wire.CodeRoomFull, wire.CodeTooManyRooms, wire.CodeTooManyTracks, wire.CodeModeMismatch, wire.CodeWrongMode,
	wire.CodeUnknownPeer, wire.CodeFlood, wire.CodeJoinTimeout, wire.CodeMoved}

// ICEConnected observes a connection's connect time (sfu.Timings).
func (m *metrics) ICEConnected(side sfu.Side, d time.Duration) {
	m.ice.WithLabelValues(string(side)).Observe(d.Seconds())
}

// FirstMedia observes a participant's time to first media (sfu.Timings).
func (m *metrics) FirstMedia(d time.Duration) { m.firstMedia.Observe(d.Seconds()) }

// refused counts a refusal by admission.
func (m *metrics) refused(err error) {
	m.refusals.WithLabelValues(refusalOf(err).Code).Inc()
}

// countSessions counts h's open requests as signaling sessions of transport.
func (m *metrics) countSessions(transport string, h http.Handler) http.Handler {
	g := m.sessions.WithLabelValues(transport)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Inc()
		defer g.Dec()
		h.ServeHTTP(w, r)
	})
}

// Metrics serves the server's metrics in the Prometheus exposition formats: mount it
// where Prometheus scrapes (the binary serves it on --metrics-addr). The metrics are
// on a registry of the server's own; Go runtime and process metrics included.
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// mediaCollector reads rooms, participants and the media core's counters at scrape
// time.
type mediaCollector struct {
	s *Server

	rooms, participants, tracks                  *prometheus.Desc
	packetsIn, bytesIn, packetsOut, bytesOut     *prometheus.Desc
	dropped, nacks, retransmitted, keyframeAsked *prometheus.Desc
	fastStarts                                   *prometheus.Desc
}

func newMediaCollector(s *Server) *mediaCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, nil)
	}
	return &mediaCollector{s: s,
		rooms:         d("rooms", "Rooms open now, by kind (sfu, mesh).", "kind"),
		participants:  d("participants", "Participants in rooms now, by room kind and transport (WHEP viewers: transport whep).", "kind", "transport"),
		tracks:        d("published_tracks", "Tracks published now, by kind (audio, video) and source.", "kind", "source"),
		packetsIn:     d("received_packets_total", "RTP packets read from publishers, by kind.", "kind"),
		bytesIn:       d("received_bytes_total", "Bytes of RTP read from publishers, by kind.", "kind"),
		packetsOut:    d("forwarded_packets_total", "RTP packets written to subscribers and viewers (each copy), by kind.", "kind"),
		bytesOut:      d("forwarded_bytes_total", "Bytes of RTP written to subscribers and viewers, by kind.", "kind"),
		dropped:       d("dropped_packets_total", "RTP packets not forwarded or not resent, by kind and reason.", "kind", "reason"),
		nacks:         d("nacked_packets_total", "Packets subscribers asked to be resent (NACK), by kind.", "kind"),
		retransmitted: d("retransmitted_packets_total", "Packets resent to subscribers on NACKs, by kind.", "kind"),
		keyframeAsked: d("keyframe_requests_total", "Keyframe requests (PLI) sent to publishers, by kind.", "kind"),
		fastStarts:    d("fast_starts_total", "Subscribers' video started from the cached keyframe, without a keyframe request.", "kind"),
	}
}

// Describe sends every metric's description.
func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rooms, c.participants, c.tracks, c.packetsIn, c.bytesIn, c.packetsOut,
		c.bytesOut, c.dropped, c.nacks, c.retransmitted, c.keyframeAsked, c.fastStarts} {
		ch <- d
	}
}

// collectAuto reads the auto rooms: a participant is counted on each side it is
// in, so twice during a switch.
func (c *mediaCollector) collectAuto(gauge func(*prometheus.Desc, int, ...string)) {
	a := c.s.auto
	gauge(c.rooms, a.rooms.Len(), "auto")
	census, viewers := a.sfu.Census()
	for t, n := range a.mesh.Census() {
		census[t] += n
	}
	for _, t := range []string{"websocket", "sse"} {
		census[t] += 0
	}
	census["whep"] += viewers
	for t, n := range census {
		gauge(c.participants, n, "auto", t)
	}
}

// Collect reads the rooms and the media counters now.
func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(c.rooms, c.s.rooms.Len(), "sfu")
	gauge(c.rooms, c.s.mesh.Len(), "mesh")
	sfuCensus, viewers := c.s.rooms.Census()
	for _, t := range []string{"websocket", "sse", "sfu-ws", "whip"} {
		sfuCensus[t] += 0 // every transport shown, at zero too
	}
	for t, n := range sfuCensus {
		gauge(c.participants, n, "sfu", t)
	}
	gauge(c.participants, viewers, "sfu", "whep")
	meshCensus := c.s.mesh.Census()
	for _, t := range []string{"websocket", "sse"} {
		meshCensus[t] += 0
	}
	for t, n := range meshCensus {
		gauge(c.participants, n, "mesh", t)
	}
	c.collectAuto(gauge)
	st := c.s.engine.Stats()
	for class, n := range st.Tracks {
		gauge(c.tracks, n, class.Kind.String(), string(class.Source))
	}
	c.collectMedia(ch, webrtc.RTPCodecTypeAudio.String(), &st.Audio)
	c.collectMedia(ch, webrtc.RTPCodecTypeVideo.String(), &st.Video)
}

func (c *mediaCollector) collectMedia(ch chan<- prometheus.Metric, kind string, m *sfu.MediaStats) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.packetsIn, m.PacketsIn, kind)
	counter(c.bytesIn, m.BytesIn, kind)
	counter(c.packetsOut, m.PacketsOut, kind)
	counter(c.bytesOut, m.BytesOut, kind)
	for r := range sfu.NumDropReasons {
		counter(c.dropped, m.Dropped[r], kind, r.String())
	}
	counter(c.nacks, m.NACKs, kind)
	counter(c.retransmitted, m.Retransmissions, kind)
	counter(c.keyframeAsked, m.KeyframeRequests, kind)
	counter(c.fastStarts, m.FastStarts, kind)
}

// webhookCollector reads the webhook sender's counters at scrape time.
type webhookCollector struct {
	stats           func() webhook.Stats
	events, retries *prometheus.Desc
}

func newWebhookCollector(s *webhook.Sender) *webhookCollector {
	return &webhookCollector{stats: s.Stats,
		events: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "webhook_events_total"),
			"Webhook events by what became of them (each endpoint counted): delivered, failed (given up), dropped (queue full), abandoned (at shutdown).",
			[]string{"result"}, nil),
		retries: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "webhook_retries_total"),
			"Webhook delivery attempts after the first.", nil, nil),
	}
}

// Describe sends the metrics' descriptions.
func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.retries
}

// Collect reads the sender's counters now.
func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, r := range []struct {
		result string
		n      int64
	}{{"delivered", st.Delivered}, {"failed", st.Failed}, {"dropped", st.Dropped}, {"abandoned", st.Abandoned}} {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(r.n), r.result)
	}
	ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(st.Retried))
}
