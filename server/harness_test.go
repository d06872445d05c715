package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/wire"
)

// testLogger is quiet unless SWITCHBOARD_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testServer is an in-process server on a loopback port.
type testServer struct {
	*server.Server
	URL    string // http://127.0.0.1:port (https: for sse-http2)
	WSURL  string // ws://127.0.0.1:port/ws
	SSEURL string // URL + /sse
	mode   mode   // how joinPeer's peers connect
	client *http.Client
}

// mode is a signaling transport the same test body runs over.
type mode string

const (
	modeWS    mode = "websocket"
	modeSSE   mode = "sse"       // Server-Sent Events + POST over HTTP/1.1
	modeSSEH2 mode = "sse-http2" // the same over HTTP/2 (TLS)
)

// run runs body once per signaling transport, as a subtest named after it.
func run(t *testing.T, body func(t *testing.T, m mode)) {
	for _, m := range []mode{modeWS, modeSSE, modeSSEH2} {
		t.Run(string(m), func(t *testing.T) { body(t, m) })
	}
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerWith(t, modeWS, server.Config{})
}

// startServerWith starts a server configured by cfg (loopback candidates and the
// logger are set here), whose peers connect over m. sse-http2 gets a TLS server that speaks HTTP/2.
func startServerWith(t *testing.T, m mode, cfg server.Config) *testServer {
	t.Helper()
	checkGoroutines(t)
	cfg.Media.ICELoopback = true
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return listen(t, m, srv, nil)
}

// listen serves srv until the test ends, over TLS with HTTP/2 for sse-http2; config,
// when set, is the http.Server to serve with (its timeouts, say).
func listen(t *testing.T, m mode, srv *server.Server, config *http.Server) *testServer {
	t.Helper()
	hs := httptest.NewUnstartedServer(srv)
	if config != nil {
		hs.Config = config
	}
	if m == modeSSEH2 {
		hs.EnableHTTP2 = true
		hs.StartTLS()
	} else {
		hs.Start()
	}
	hc := hs.Client()
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
		hc.CloseIdleConnections()
	})
	return &testServer{Server: srv, URL: hs.URL, WSURL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws",
		SSEURL: hs.URL + "/sse", mode: m, client: hc}
}

// signalURL is where a peer connects over m.
func (ts *testServer) signalURL(m mode) string {
	if m == modeWS {
		return ts.WSURL
	}
	return ts.SSEURL
}

// checkGoroutines fails the test if goroutines started during it are still running a
// few seconds after its cleanups.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		waitFor(t, 10*time.Second, func() (bool, string) {
			n := runtime.NumGoroutine()
			return n <= before, fmt.Sprintf("%d goroutines running, %d before the test", n, before)
		})
	})
}

// waitFor polls cond until it holds or timeout passes, then fails with cond's last
// explanation.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v: %s", timeout, why)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// peer is a Pion participant that counts the packets it receives per track.
type peer struct {
	t    *testing.T
	name string
	*client.Client

	mu     sync.Mutex
	tracks map[string]*receivedTrack // by track id

	keyframeRequests atomic.Int64 // PLIs and FIRs received for its own video
	stopMedia        context.CancelFunc
	mediaDone        sync.WaitGroup
}

type receivedTrack struct {
	info    wire.Track
	ssrc    uint32
	packets atomic.Uint64
	ended   atomic.Bool // its reads ended: the track was removed or the connection closed
}

// joinPeer joins a peer over the server's transport.
func joinPeer(t *testing.T, ts *testServer, room, name string) *peer {
	t.Helper()
	return joinPeerWith(t, ts, ts.mode, ts.client, room, name)
}

// joinPeerWith joins a peer over m, making its HTTP requests with hc.
func joinPeerWith(t *testing.T, ts *testServer, m mode, hc *http.Client, room, name string) *peer {
	t.Helper()
	p := &peer{t: t, name: name, tracks: map[string]*receivedTrack{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.signalURL(m), room, name, client.Options{OnTrack: p.onTrack, HTTPClient: hc})
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	p.Client = c
	t.Cleanup(p.close)
	return p
}

func (p *peer) onTrack(info wire.Track, track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	rt := &receivedTrack{info: info, ssrc: uint32(track.SSRC())}
	p.mu.Lock()
	p.tracks[info.ID] = rt
	p.mu.Unlock()
	buf := make([]byte, 1500)
	defer rt.ended.Store(true)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
		rt.packets.Add(1)
	}
}

// endedFrom reports whether every track p has received from participant has ended,
// and how many have not.
func (p *peer) endedFrom(participant string) (bool, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	open := 0
	for _, rt := range p.tracks {
		if rt.info.Participant == participant && !rt.ended.Load() {
			open++
		}
	}
	return open == 0, open
}

// publishAV publishes a synthetic VP8 camera and Opus microphone and returns the
// video sender.
func (p *peer) publishAV() *webrtc.RTPSender {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p.stopMedia = cancel
	video, err := client.NewVideoTrack("video", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	audio, err := client.NewAudioTrack("audio", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	var senders []*webrtc.RTPSender
	for _, tr := range []struct {
		track  *webrtc.TrackLocalStaticRTP
		source string
	}{{video, "camera"}, {audio, "microphone"}} {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		sender, err := p.Publish(rctx, tr.track, tr.source)
		rcancel()
		if err != nil {
			p.t.Fatalf("%s: publish %s: %v", p.name, tr.source, err)
		}
		senders = append(senders, sender)
		p.mediaDone.Add(2)
		go func() { defer p.mediaDone.Done(); client.SendSynthetic(ctx, tr.track, 300_000) }()
		go func() { defer p.mediaDone.Done(); p.readRTCP(sender) }()
	}
	return senders[0]
}

func (p *peer) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.keyframeRequests.Add(1)
			}
		}
	}
}

// packetsFromSource is how many packets p has received on tracks of participant
// from source.
func (p *peer) packetsFromSource(participant, source string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	for _, rt := range p.tracks {
		if rt.info.Participant == participant && rt.info.Source == source {
			n += rt.packets.Load()
		}
	}
	return n
}

// packetsFromTrack is how many packets p has received on the track with id.
func (p *peer) packetsFromTrack(id string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rt := p.tracks[id]; rt != nil {
		return rt.packets.Load()
	}
	return 0
}

// packetsFrom is how many packets p has received on tracks of participant of kind.
func (p *peer) packetsFrom(participant, kind string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	for _, rt := range p.tracks {
		if rt.info.Participant == participant && rt.info.Kind == kind {
			n += rt.packets.Load()
		}
	}
	return n
}

// receivedSSRC is the SSRC p receives participant's track of kind on.
func (p *peer) receivedSSRC(participant, kind string) (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rt := range p.tracks {
		if rt.info.Participant == participant && rt.info.Kind == kind {
			return rt.ssrc, true
		}
	}
	return 0, false
}

func (p *peer) close() {
	if p.stopMedia != nil {
		p.stopMedia()
	}
	p.Client.Close()
	p.mediaDone.Wait()
}

// receivesFrom waits until p has received at least n more packets of each kind from
// each of others than it had when called.
func (p *peer) receivesFrom(t *testing.T, n uint64, others ...*peer) {
	t.Helper()
	if n == 0 || len(others) == 0 {
		t.Fatalf("receivesFrom(%d, %d peers) asserts nothing", n, len(others))
	}
	base := map[string]uint64{}
	for _, o := range others {
		for _, kind := range []string{"audio", "video"} {
			base[o.Self.ID+kind] = p.packetsFrom(o.Self.ID, kind)
		}
	}
	waitFor(t, 15*time.Second, func() (bool, string) {
		for _, o := range others {
			for _, kind := range []string{"audio", "video"} {
				if got := p.packetsFrom(o.Self.ID, kind) - base[o.Self.ID+kind]; got < n {
					return false, fmt.Sprintf("%s has %d new %s packets from %s, want %d", p.name, got, kind, o.name, n)
				}
			}
		}
		return true, ""
	})
}

// pionOffer is a valid offer from a Pion peer with one video transceiver.
func pionOffer(t *testing.T) string {
	t.Helper()
	return offerOf(t, webrtc.RTPTransceiverDirectionSendonly, webrtc.RTPCodecTypeVideo)
}

// offerOf is a Pion offer with one transceiver of each of kinds, in direction dir.
func offerOf(t *testing.T, dir webrtc.RTPTransceiverDirection, kinds ...webrtc.RTPCodecType) string {
	t.Helper()
	api, err := client.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, kind := range kinds {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
