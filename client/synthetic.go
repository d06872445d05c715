package client

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
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
		if len(payload) < vp8HeaderSize {
			return Stamp{}, false
		}
		payload = payload[vp8HeaderSize:]
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
	buf := make([]byte, size)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var n uint64
	for f := uint32(0); ; f++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for i := range perFrame {
			payload := buf
			if kind == webrtc.RTPCodecTypeVideo {
				writeVP8Header(payload, i == 0, i == 0 && f%keyframeEvery == 0)
				payload = payload[vp8HeaderSize:]
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

// writeVP8Header writes a VP8 payload descriptor (RFC 7741) and 10 bytes into b: on
// the first packet of a frame, the frame's header (RFC 6386 section 9.1); on the
// others, zeros.
func writeVP8Header(b []byte, first, keyframe bool) {
	clear(b[:vp8HeaderSize])
	if !first {
		return // descriptor 0: a continuation of partition 0
	}
	b[0] = 0x10 // descriptor: start of partition 0
	if keyframe {
		// Frame tag (show_frame, key frame), start code, 320x240.
		copy(b[1:], []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00})
		return
	}
	copy(b[1:], []byte{0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // frame tag of an inter frame
}
