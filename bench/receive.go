package bench

import (
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/internal/vp8"
)

// receiving is one peer that receives media: when it started connecting, and whether
// a packet, and a video keyframe, have arrived yet.
type receiving struct {
	started time.Time
	got     atomic.Bool
	gotKey  atomic.Bool
}

// readTrack reads a received track until it ends, recording each stamped packet.
func (r *recorder) readTrack(p *receiving, track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var counter trackCounter
	kind := track.Kind()
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		now := time.Now()
		if p.got.CompareAndSwap(false, true) {
			r.firstPacketAfter(now.Sub(p.started))
		}
		if kind == webrtc.RTPCodecTypeVideo && vp8.IsKeyframe(pkt.Payload) && p.gotKey.CompareAndSwap(false, true) {
			r.firstKeyframeAfter(now.Sub(p.started))
		}
		stamp, ok := client.ParseStamp(kind, pkt.Payload)
		if !ok || !r.measuring.Load() {
			continue
		}
		r.packets.Add(1)
		r.bytes.Add(uint64(n))
		r.expect.Add(counter.see(stamp.Counter))
		r.latency.add(now.Sub(stamp.Sent))
	}
}

// newAPI builds the peers' connections: VP8 and Opus; publishers answer the
// server's NACKs, send RTCP reports and may send simulcast. Receivers run no
// interceptor but, with twcc, the one that sends transport-wide congestion control
// feedback: the load generator shares the machine with the server, and every cycle
// it spends per received packet delays the packets behind. So loss is measured
// without retransmissions, the stricter figure.
func newAPI(publisher, twcc bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if publisher {
		if err := webrtc.ConfigureRTCPReports(reg); err != nil {
			return nil, err
		}
		resp, err := nack.NewResponderInterceptor()
		if err != nil {
			return nil, err
		}
		reg.Add(resp)
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
		if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
			return nil, err
		}
	}
	if twcc {
		if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
			return nil, err
		}
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s)), nil
}

// drainRTCP reads a sender's RTCP (keyframe requests, receiver reports) until it
// stops, so that the interceptors see it.
func drainRTCP(sender *webrtc.RTPSender) {
	for {
		if _, _, err := sender.ReadRTCP(); err != nil {
			return
		}
	}
}
