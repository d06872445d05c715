package client

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/vp8"
)

// Synthetic media: packets with the right codec framing and made-up content, at a
// chosen rate. Each payload carries, after the codec header, a magic word, the send
// time and a counter (see ParseStamp), so a receiver can measure loss and latency.

// NewVideoTrack returns a VP8 track to feed with SendSynthetic.
func NewVideoTrack(id, stream string) (*webrtc.TrackLocalStaticRTP, error) {
	return webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, id, stream)
}

// NewAudioTrack returns an Opus track to feed with SendSynthetic.
func NewAudioTrack(id, stream string) (*webrtc.TrackLocalStaticRTP, error) {
	return webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, stream)
}

const stampMagic = 0x53425359 // "SBSY"

// stampSize is the bytes a stamp takes: magic, send time in unix nanoseconds, counter.
const stampSize = 4 + 8 + 8

// Stamp is what a synthetic packet carries.
type Stamp struct {
	Sent    time.Time
	Counter uint64
}

// vp8HeaderSize is what precedes the stamp in a synthetic video payload: the VP8
// payload descriptor (1 byte) and a 10-byte VP8 frame header, a real keyframe header
// (320x240) on keyframes, so that a server can tell keyframes apart.
const vp8HeaderSize = 1 + 10

// keyframeEvery is how often a synthetic video stream sends a keyframe, in frames.
const keyframeEvery = 30

// ParseStamp reads the stamp of a synthetic packet's payload, if it has one.
func ParseStamp(kind webrtc.RTPCodecType, payload []byte) (Stamp, bool) {
	if kind == webrtc.RTPCodecTypeVideo {
		d, ok := vp8.DescriptorSize(payload)
		n := d + vp8HeaderSize - 1
		if !ok || len(payload) < n {
			return Stamp{}, false
		}
		payload = payload[n:]
	}
	if len(payload) < stampSize || binary.BigEndian.Uint32(payload) != stampMagic {
		return Stamp{}, false
	}
	return Stamp{
		Sent:    time.Unix(0, int64(binary.BigEndian.Uint64(payload[4:]))),
		Counter: binary.BigEndian.Uint64(payload[12:]),
	}, true
}

// maxSyntheticPayload is the largest payload of a synthetic packet: what fits a
// 1500-byte MTU with room for SRTP and header extensions, as browsers packetize.
const maxSyntheticPayload = 1200

// SendSynthetic writes packets to track until ctx ends: for audio one 20 ms Opus
// packet every 20 ms; for video 30 frames a second, a keyframe every second, each
// frame split into packets of at most 1200 bytes, so that the stream carries bitrate
// bits per second. Every packet carries its own stamp; counters number packets.
func SendSynthetic(ctx context.Context, track *webrtc.TrackLocalStaticRTP, bitrate int) {
	sendSynthetic(ctx, track, bitrate, synthLayer{})
}

// synthLayer is what a simulcast layer's packets carry besides: a VP8 picture id
// in every descriptor, the keyframes' frame size, and the mid and rid header
// extensions that let the server tell the layers apart (ids 0: none).
type synthLayer struct {
	pictureID     bool
	width, height int
	midID, ridID  uint8
	mid, rid      []byte
	// active, when set, tells whether the layer sends now (publish-layers).
	active func(rid string) bool
}

func sendSynthetic(ctx context.Context, track *webrtc.TrackLocalStaticRTP, bitrate int, layer synthLayer) {
	kind := track.Kind()
	interval, clock := 20*time.Millisecond, uint32(48000/50)
	if kind == webrtc.RTPCodecTypeVideo {
		interval, clock = time.Second/30, 90000/30
	}
	frame := max(bitrate/8*int(interval)/int(time.Second), stampSize+vp8HeaderSize)
	perFrame := (frame + maxSyntheticPayload - 1) / maxSyntheticPayload
	if kind == webrtc.RTPCodecTypeAudio {
		frame, perFrame = min(frame, maxSyntheticPayload), 1
	}
	size := max(frame/perFrame, stampSize+vp8HeaderSize)
	desc := 1
	if layer.pictureID {
		desc = 4
	}
	buf := make([]byte, size+desc-1)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}}
	if layer.midID != 0 {
		_ = pkt.Header.SetExtension(layer.midID, layer.mid)
	}
	if layer.ridID != 0 {
		_ = pkt.Header.SetExtension(layer.ridID, layer.rid)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var n uint64
	for f := uint32(0); ; f++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if layer.active != nil && !layer.active(string(layer.rid)) {
			f = uint32(keyframeEvery - 1) // resume with a keyframe
			continue
		}
		for i := range perFrame {
			payload := buf
			if kind == webrtc.RTPCodecTypeVideo {
				n := writeVP8Header(payload, i == 0, i == 0 && f%keyframeEvery == 0, layer.pictureID, uint16(f), layer.width, layer.height)
				payload = payload[n:]
			}
			binary.BigEndian.PutUint32(payload, stampMagic)
			binary.BigEndian.PutUint64(payload[4:], uint64(time.Now().UnixNano()))
			binary.BigEndian.PutUint64(payload[12:], n)
			pkt.SequenceNumber = uint16(n)
			pkt.Timestamp = f * clock
			pkt.Marker = i == perFrame-1
			pkt.Payload = buf
			n++
			if err := track.WriteRTP(&pkt); err != nil {
				return
			}
		}
	}
}

// writeVP8Header writes a VP8 payload descriptor (RFC 7741) and 10 bytes into b,
// and returns how many bytes it wrote: the descriptor (with a 15-bit picture id
// pic when pictureID is set) and, on the first packet of a frame, the frame's
// header (RFC 6386 section 9.1), on the others zeros. A keyframe's header gives
// width x height, 320x240 when not set.
func writeVP8Header(b []byte, first, keyframe, pictureID bool, pic uint16, width, height int) int {
	d := 1
	b[0] = 0
	if pictureID {
		b[0], b[1], b[2], b[3] = 0x80, 0x80, 0x80|byte(pic>>8)&0x7f, byte(pic) // X, I, 15-bit id
		d = 4
	}
	h := b[d : d+vp8HeaderSize-1]
	clear(h)
	if !first {
		return d + len(h) // a continuation of partition 0
	}
	b[0] |= 0x10 // start of partition 0
	if keyframe {
		// Frame tag (show_frame, key frame), start code, the size.
		if width <= 0 || height <= 0 {
			width, height = 320, 240
		}
		copy(h, []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, byte(width), byte(width >> 8), byte(height), byte(height >> 8)})
		return d + len(h)
	}
	copy(h, []byte{0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // frame tag of an inter frame
	return d + len(h)
}

// SimulcastRids are the rids of the layers a synthetic simulcast track sends,
// lowest first, as the browser client names them.
var SimulcastRids = []string{"q", "h", "f"}

// simulcastSizes are the synthetic layers' frame sizes (1280x720 scaled by 1/4,
// 1/2, 1), and simulcastShares the part of the track's bitrate each takes.
var (
	simulcastSizes  = [][2]int{{320, 180}, {640, 360}, {1280, 720}}
	simulcastShares = []float64{0.1, 0.3, 0.6}
)

// SimulcastBitrate is the bitrate over all layers (Simulcast.Send's) of a
// synthetic simulcast track whose top layer sends top bits a second.
func SimulcastBitrate(top int) int {
	return int(float64(top) / simulcastShares[len(simulcastShares)-1])
}

// Simulcast is a synthetic simulcast track: one sending transceiver, a VP8 track
// per layer (SimulcastRids).
type Simulcast struct {
	Sender *webrtc.RTPSender
	Layers []*webrtc.TrackLocalStaticRTP
	tr     *webrtc.RTPTransceiver
}

// AddSimulcast adds to pc a sending transceiver of a synthetic VP8 track sent as
// three simulcast layers (SimulcastRids), for any peer connection (a WHIP
// publisher's too). Once pc is negotiated, Send feeds it.
func AddSimulcast(pc *webrtc.PeerConnection, id, stream string) (*Simulcast, error) {
	s := &Simulcast{}
	for _, rid := range SimulcastRids {
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			id, stream, webrtc.WithRTPStreamID(rid))
		if err != nil {
			return nil, err
		}
		s.Layers = append(s.Layers, t)
	}
	tr, err := pc.AddTransceiverFromTrack(s.Layers[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	for _, l := range s.Layers[1:] {
		if err := tr.Sender().AddEncoding(l); err != nil {
			return nil, err
		}
	}
	s.Sender, s.tr = tr.Sender(), tr
	return s, nil
}

// PublishSimulcast publishes a synthetic VP8 camera track as three simulcast
// layers (SimulcastRids) and negotiates. Send feeds it.
func (c *Client) PublishSimulcast(ctx context.Context, id, stream string) (*Simulcast, error) {
	return c.publishSimulcast(ctx, id, stream, "camera")
}

// Send writes every layer until ctx ends, bitrate bits a second over all of them
// (a tenth to the lowest, six tenths to the highest). A layer set inactive
// (SetActive) sends nothing meanwhile.
func (s *Simulcast) Send(ctx context.Context, bitrate int, active func(rid string) bool) {
	var midID, ridID uint8
	for _, e := range s.Sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	var wg sync.WaitGroup
	for i, t := range s.Layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := synthLayer{pictureID: true, width: simulcastSizes[i][0], height: simulcastSizes[i][1],
				midID: midID, ridID: ridID, mid: []byte(s.tr.Mid()), rid: []byte(t.RID()), active: active}
			sendSynthetic(ctx, t, int(float64(bitrate)*simulcastShares[i]), l)
		}()
	}
	wg.Wait()
}
