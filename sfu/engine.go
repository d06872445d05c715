package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu/bwe"
)

// Config sets how the server's peer connections reach clients. The zero value offers
// host candidates on every non-loopback interface, all on one UDP port picked at start.
type Config struct {
	// ICELoopback offers loopback candidates (127.0.0.1, ::1): for local use and tests.
	ICELoopback bool
	// PublicIPs are addresses that replace the host's own in the candidates offered,
	// for a server behind a 1:1 NAT (a cloud instance's public address).
	PublicIPs []string
	// UDPPort is the one UDP port that carries the media of every connection: the
	// server opens a socket on it on each local address (the loopback ones only with
	// ICELoopback) and Pion's ICE UDP mux sorts datagrams by sender. Zero picks a free
	// port at start (Engine.UDPPort tells which). The datagrams of one packet's fan-out
	// to its subscribers are sent together (sendmmsg).
	UDPPort uint16
	// PortPerConnection gives every connection UDP sockets of its own, on ephemeral
	// ports or in UDPPortMin-UDPPortMax, instead of the one shared port; writes are
	// then one system call per datagram.
	PortPerConnection bool
	// UDPPortMin and UDPPortMax bound the ports of PortPerConnection; setting them
	// implies it.
	UDPPortMin, UDPPortMax uint16
	// ICETCP offers passive ICE-TCP candidates beside the UDP ones, for clients whose
	// network lets no UDP out: every connection's TCP candidates share one listening
	// port, ICETCPPort (zero picks a free port at start; Engine.ICETCPPort tells
	// which), on every local address. Their addresses are replaced by PublicIPs like
	// the UDP ones. Media over TCP suffers from head-of-line blocking: clients
	// prefer UDP when both work (ICE priorities).
	ICETCP     bool
	ICETCPPort uint16
	// ICEServers are the STUN/TURN servers the server's own connections use.
	ICEServers []webrtc.ICEServer
	// Limits bound rooms, participants and tracks; the zero value is the defaults.
	Limits Limits
	// Liveness sets how fast a connection whose client vanished is declared failed;
	// the zero value is the defaults.
	Liveness Liveness
	// Logger receives the media core's logs; nil means slog.Default().
	Logger *slog.Logger
	// Timings, when set, receives the ICE connect time of participants' connections
	// and the time from a participant's join to its first media (for metrics).
	Timings Timings
}

// Engine builds the peer connections of every participant from one configuration.
// It holds no per-connection state and is safe for concurrent use.
//
// Connections that receive media (publishers) and connections that only send it
// (subscribers, viewers) get different interceptors: a sending connection needs
// none of the machinery for incoming streams (NACK generation, congestion control
// feedback, receiver reports), and each of those runs a goroutine per connection.
type Engine struct {
	pubAPI, subAPI *webrtc.API
	config         webrtc.Configuration
	limits         Limits
	log            *slog.Logger
	mux            *udpMux      // the shared UDP port; nil with a port per connection
	tcp            *tcpMux      // the ICE-TCP port; nil without ICETCP
	conns          sync.Map     // *webrtc.PeerConnection made and not yet closed
	open           atomic.Int64 // how many
	stats          trackStats
	timings        Timings       // nil: none
	restartGrace   time.Duration // Liveness.ICERestartGrace
}

// NewEngine checks cfg and prepares the codecs, interceptors and ICE settings.
func NewEngine(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	settings, err := settingsFor(cfg, log)
	if err != nil {
		return nil, err
	}
	e := &Engine{config: webrtc.Configuration{ICEServers: cfg.ICEServers}, limits: cfg.Limits.withDefaults(), log: log,
		timings: cfg.Timings, restartGrace: cfg.Liveness.withDefaults().ICERestartGrace}
	perConnection := cfg.PortPerConnection || cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0
	if perConnection && cfg.UDPPort != 0 {
		return nil, errors.New("sfu: UDPPort is the shared port; it cannot be set with a port per connection")
	}
	if !perConnection {
		if e.mux, err = listenUDPMux(cfg.UDPPort, cfg.ICELoopback, settings.LoggerFactory.NewLogger("udpmux")); err != nil {
			return nil, err
		}
		settings.SetICEUDPMux(e.mux.mux)
	}
	if cfg.ICETCP {
		if e.tcp, err = listenTCPMux(cfg.ICETCPPort, settings.LoggerFactory.NewLogger("tcpmux")); err != nil {
			_ = e.Close()
			return nil, err
		}
		settings.SetICETCPMux(e.tcp.mux)
	}
	if e.pubAPI, err = newAPI(settings, registerInterceptors); err == nil {
		e.subAPI, err = newAPI(settings, e.registerSenderInterceptors)
	}
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

// UDPPort is the port every connection uses, 0 with a port per connection.
func (e *Engine) UDPPort() int {
	if e.mux == nil {
		return 0
	}
	return e.mux.Port()
}

// ICETCPPort is the port of the ICE-TCP candidates, 0 without Config.ICETCP.
func (e *Engine) ICETCPPort() int {
	if e.tcp == nil {
		return 0
	}
	return e.tcp.Port()
}

// MediaAddrs are the addresses the shared UDP port listens on (none with a port per
// connection).
func (e *Engine) MediaAddrs() []netip.Addr {
	if e.mux == nil {
		return nil
	}
	return e.mux.Addrs()
}

// Close closes the shared UDP sockets and the ICE-TCP listener; connections still
// using them fail. Call it once every connection is closed. It is safe to call more
// than once.
func (e *Engine) Close() error {
	var errs []error
	if e.mux != nil {
		errs = append(errs, e.mux.Close())
	}
	if e.tcp != nil {
		errs = append(errs, e.tcp.Close())
	}
	return errors.Join(errs...)
}

// fanout is what a Track's forward loop marks its fan-outs with; nil with a port
// per connection.
func (e *Engine) fanout() *sendGroup {
	if e == nil || e.mux == nil {
		return nil
	}
	return e.mux.group
}

// newAPI builds an API with the server's codecs and the interceptors that
// interceptors registers.
func newAPI(settings webrtc.SettingEngine, interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := registerCodecs(media); err != nil {
		return nil, err
	}
	registry := &interceptor.Registry{}
	if err := interceptors(media, registry); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings)), nil
}

// settingsFor turns cfg into Pion's settings.
func settingsFor(cfg Config, log *slog.Logger) (webrtc.SettingEngine, error) {
	settings := webrtc.SettingEngine{LoggerFactory: pionLogs{log}}
	settings.SetIncludeLoopbackCandidate(cfg.ICELoopback)
	// No mDNS: a server's candidates are real addresses, and a client's ".local"
	// candidates are not needed, since the server learns the client's address from the
	// client's own connectivity checks (a peer-reflexive candidate). Without it every
	// connection saves a multicast socket and its reading goroutine.
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	live := cfg.Liveness.withDefaults()
	settings.SetICETimeouts(live.ICEDisconnectedTimeout, live.ICEFailedTimeout, live.ICEKeepalive)
	settings.SetSRTPReplayProtectionWindow(nackWindow)
	if len(cfg.PublicIPs) > 0 {
		// Host candidates carry the public addresses instead of the machine's own.
		err := settings.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace})
		if err != nil {
			return settings, fmt.Errorf("sfu: public IPs %v: %w", cfg.PublicIPs, err)
		}
	}
	if cfg.ICETCP {
		// Pion's default is UDP only.
		settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6,
			webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := settings.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return settings, fmt.Errorf("sfu: UDP port range %d-%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	return settings, nil
}

// newPublisherConnection is a connection that receives a client's media.
func (e *Engine) newPublisherConnection() (*webrtc.PeerConnection, error) {
	return e.counted(e.pubAPI.NewPeerConnection(e.config))
}

// newSubscriberConnection is a connection that only sends media to a client.
func (e *Engine) newSubscriberConnection() (*webrtc.PeerConnection, error) {
	return e.counted(e.subAPI.NewPeerConnection(e.config))
}

// counted counts pc among the open connections until closeConnection closes it.
func (e *Engine) counted(pc *webrtc.PeerConnection, err error) (*webrtc.PeerConnection, error) {
	if err != nil {
		return nil, err
	}
	e.conns.Store(pc, struct{}{})
	e.open.Add(1)
	return pc, nil
}

// closeConnection closes pc, a connection of engine e (nil in some tests). Closing
// one twice (the single connection of an sfu-ws participant is its publisher's and
// its subscriber's) counts once.
func closeConnection(e *Engine, pc *webrtc.PeerConnection) error {
	if e != nil {
		if _, ok := e.conns.LoadAndDelete(pc); ok {
			e.open.Add(-1)
		}
	}
	return pc.Close()
}

// OpenConnections is the number of peer connections made and not yet closed: each
// participant's, viewer's and WHIP/WHEP session's.
func (e *Engine) OpenConnections() int { return int(e.open.Load()) }

// registerCodecs offers what browsers, OBS and GStreamer send: Opus, VP8, H.264 and
// VP9. Nothing is transcoded, so a subscriber receives a track only in its publisher's
// codec.
func registerCodecs(m *webrtc.MediaEngine) error {
	videoFeedback := []webrtc.RTCPFeedback{
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBTransportCC},
	}
	codecs := []struct {
		kind  webrtc.RTPCodecType
		codec webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}}}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: 102, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: 98, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, RTCPFeedback: videoFeedback, SDPFmtpLine: "profile-id=0"}}},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.codec, c.kind); err != nil {
			return fmt.Errorf("sfu: register %s: %w", c.codec.MimeType, err)
		}
	}
	return nil
}

// Lost packets of a publisher's stream are asked for (NACK) as far back as
// nackWindow packets behind the newest, and SRTP takes a retransmission from as far
// back: its replay protection refuses a packet older than its window as if it were a
// replay, and with Pion's default window (64) against the NACK generator's (512) a
// gap of more than 64 packets (a network away for a moment under a sender that went
// on sending) was asked for and refused, again and again. maxNACKsPerPacket bounds
// how often one packet is asked for, as WebRTC's own receivers do (10): a packet the
// publisher no longer has is otherwise asked for every 100 ms until nackWindow newer
// ones arrive, which is never on a stream that stopped. Each unanswered request
// costs more than a NACK: a browser counts every retransmission that it sends and
// the server does not acknowledge (transport-wide feedback) as lost, and its
// congestion control, holding its estimate down, stops the very simulcast layers
// whose gaps are being asked for.
const (
	nackWindow        = 512
	maxNACKsPerPacket = 10
)

// registerInterceptors adds what an SFU needs from Pion's interceptors: NACK generation
// towards publishers, RTCP receiver reports, transport-wide congestion control
// feedback to publishers, and the header extensions that identify simulcast streams
// and carry audio levels.
//
// Left out: Pion's NACK responder, which keeps a buffer of packets per outgoing
// stream, so per subscriber (about 1.5 MiB each at 1 Mbit/s); each published Track
// keeps one packetCache instead and its DownTracks answer NACKs from it. Pion's
// sender reports: the DownTracks forward the publishers' instead (senderreport.go),
// on every connection that sends. And Pion's stats interceptor: it costs time on
// every packet and the server keeps its own counters.
func registerInterceptors(m *webrtc.MediaEngine, r *interceptor.Registry) error {
	generator, err := nack.NewGeneratorInterceptor(nack.GeneratorSize(nackWindow), nack.GeneratorMaxNacksPerPacket(maxNACKsPerPacket))
	if err != nil {
		return err
	}
	r.Add(generator)
	receiver, err := report.NewReceiverInterceptor()
	if err != nil {
		return err
	}
	r.Add(receiver)
	return errors.Join(
		webrtc.ConfigureSimulcastExtensionHeaders(m),
		webrtc.ConfigureTWCCSender(m, r),
		m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio),
	)
}

// registerSenderInterceptors configures a connection that only sends: no
// interceptor, since the DownTracks answer NACKs and keyframe requests from the
// client, forward the publishers' sender reports (which let the client synchronize
// audio with video) and stamp the transport-wide sequence numbers whose feedback
// estimates the bandwidth (sfu/bwe); the TWCC header extension; and a
// retransmission format (RFC 4588 RTX) for each video codec, so that a client that
// accepts it gets resent packets on a stream of their own, which it does not count
// as reordered or duplicated media.
func (e *Engine) registerSenderInterceptors(m *webrtc.MediaEngine, _ *interceptor.Registry) error {
	if err := bwe.Configure(m); err != nil {
		return err
	}
	return registerRTX(m)
}

// registerRTX registers video/rtx for each video codec of registerCodecs, at the
// payload types browsers and Pion use for them.
func registerRTX(m *webrtc.MediaEngine) error {
	for _, pair := range [][2]webrtc.PayloadType{{97, 96}, {103, 102}, {99, 98}} { // RTX, and the codec it repairs
		codec := webrtc.RTPCodecParameters{PayloadType: pair[0], RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", pair[1])}}
		if err := m.RegisterCodec(codec, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("sfu: register RTX for %d: %w", pair[1], err)
		}
	}
	return nil
}
