package sfu

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"
)

// Config sets how the server's peer connections reach clients. The zero value gathers
// host candidates on every non-loopback interface, on ephemeral ports.
type Config struct {
	// ICELoopback offers loopback candidates (127.0.0.1, ::1): for local use and tests.
	ICELoopback bool
	// PublicIPs are addresses that replace the host's own in the candidates offered,
	// for a server behind a 1:1 NAT (a cloud instance's public address).
	PublicIPs []string
	// UDPPortMin and UDPPortMax bound the UDP ports used for media; both zero means any.
	UDPPortMin, UDPPortMax uint16
	// ICEServers are the STUN/TURN servers the server's own connections use.
	ICEServers []webrtc.ICEServer
	// Logger receives the media core's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Engine builds the peer connections of every participant from one configuration.
// It holds no per-connection state and is safe for concurrent use.
type Engine struct {
	api    *webrtc.API
	config webrtc.Configuration
	log    *slog.Logger
}

// NewEngine checks cfg and prepares the codecs, interceptors and ICE settings.
func NewEngine(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	media := &webrtc.MediaEngine{}
	if err := registerCodecs(media); err != nil {
		return nil, err
	}
	registry := &interceptor.Registry{}
	if err := registerInterceptors(media, registry); err != nil {
		return nil, err
	}
	settings := webrtc.SettingEngine{LoggerFactory: pionLogs{log}}
	settings.SetIncludeLoopbackCandidate(cfg.ICELoopback)
	if len(cfg.PublicIPs) > 0 {
		settings.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := settings.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("sfu: UDP port range %d-%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings))
	return &Engine{api: api, config: webrtc.Configuration{ICEServers: cfg.ICEServers}, log: log}, nil
}

func (e *Engine) newPeerConnection() (*webrtc.PeerConnection, error) {
	return e.api.NewPeerConnection(e.config)
}

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

// registerInterceptors adds what an SFU needs from Pion's interceptors: NACK generation
// towards publishers, RTCP sender and receiver reports, transport-wide congestion
// control feedback to publishers, and the header extensions that identify simulcast
// streams.
//
// Left out: Pion's NACK responder, which keeps a buffer of packets per outgoing
// stream, so per subscriber (about 1.5 MiB each at 1 Mbit/s); each published Track
// keeps one packetCache instead and its DownTracks answer NACKs from it. And Pion's
// stats interceptor: it costs time on every packet and the server keeps its own
// counters.
func registerInterceptors(m *webrtc.MediaEngine, r *interceptor.Registry) error {
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	r.Add(generator)
	return errors.Join(
		webrtc.ConfigureRTCPReports(r),
		webrtc.ConfigureSimulcastExtensionHeaders(m),
		webrtc.ConfigureTWCCSender(m, r),
	)
}
