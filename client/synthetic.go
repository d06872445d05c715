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

// ParseStamp reads the stamp of a synthetic packet's payload, if it has one.
func ParseStamp(kind webrtc.RTPCodecType, payload []byte) (Stamp, bool) {
	if kind == webrtc.RTPCodecTypeVideo {
		if len(payload) < 1 {
			return Stamp{}, false
		}
		payload = payload[1:] // VP8 payload descriptor
	}
	if len(payload) < stampSize || binary.BigEndian.Uint32(payload) != stampMagic {
		return Stamp{}, false
	}
	return Stamp{
		Sent:    time.Unix(0, int64(binary.BigEndian.Uint64(payload[4:]))),
		Counter: binary.BigEndian.Uint64(payload[12:]),
	}, true
}

// SendSynthetic writes packets to track until ctx ends: for audio one 20 ms Opus
// packet every 20 ms; for video 30 frames a second of one packet each, sized so that the stream carries bitrate bits per second.
func SendSynthetic(ctx context.Context, track *webrtc.TrackLocalStaticRTP, bitrate int) {
	kind := track.Kind()
	interval, clock := 20*time.Millisecond, uint32(48000/50)
	if kind == webrtc.RTPCodecTypeVideo {
		interval, clock = time.Second/30, 90000/30
	}
	size := max(bitrate/8*int(interval)/int(time.Second), stampSize+1)
	size = min(size, 1200)
	buf := make([]byte, size)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true}}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for n := uint64(0); ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		payload := buf
		if kind == webrtc.RTPCodecTypeVideo {
			payload[0] = 0x10 // VP8 descriptor: start of partition 0
			payload = payload[1:]
		}
		binary.BigEndian.PutUint32(payload, stampMagic)
		binary.BigEndian.PutUint64(payload[4:], uint64(time.Now().UnixNano()))
		binary.BigEndian.PutUint64(payload[12:], n)
		pkt.SequenceNumber = uint16(n)
		pkt.Timestamp = uint32(n) * clock
		pkt.Payload = buf
		if err := track.WriteRTP(&pkt); err != nil {
			return
		}
	}
}
