package sfu

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// DownTrack sends one published Track to one subscriber. It is the
// webrtc.TrackLocal added to the subscriber's connection: Pion binds it once the
// subscriber has answered, and from then on the Track's forward loop writes to it.
//
// Each packet goes out with the SSRC and payload type negotiated with the subscriber
// and without the publisher's header extensions, whose ids the subscriber never
// agreed to.
type DownTrack struct {
	track    *Track
	streamID string

	binding atomic.Pointer[downBinding]

	// hdr is the outgoing header, reused for every packet. Only the track's forward
	// loop touches it.
	hdr rtp.Header

	written atomic.Uint64
}

type downBinding struct {
	ssrc        uint32
	payloadType uint8
	out         webrtc.TrackLocalWriter
}

func newDownTrack(t *Track) *DownTrack {
	stream := string(t.info.Participant)
	if t.info.Source == SourceScreen {
		stream += ":screen"
	}
	return &DownTrack{track: t, streamID: stream}
}

// ID is the published track's id.
func (d *DownTrack) ID() string { return string(d.track.info.ID) }

// RID is empty: a down-track carries one stream.
func (d *DownTrack) RID() string { return "" }

// StreamID groups a participant's camera and microphone into one MediaStream at the
// subscriber; a screen share is a stream of its own.
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind is the published track's kind.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.track.info.Kind }

// Track is the published track this down-track forwards.
func (d *DownTrack) Track() *Track { return d.track }

// Packets is how many packets were written to the subscriber.
func (d *DownTrack) Packets() uint64 { return d.written.Load() }

// errCodecNotNegotiated is returned by Bind when the subscriber cannot receive the
// publisher's codec.
var errCodecNotNegotiated = errors.New("sfu: subscriber does not support the track's codec")

// Bind attaches the down-track to its Track with the codec the subscriber accepted,
// and asks the publisher for a keyframe so the subscriber can start decoding.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := d.track.codec
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		d.binding.Store(&downBinding{ssrc: uint32(ctx.SSRC()), payloadType: uint8(c.PayloadType), out: ctx.WriteStream()})
		d.track.attach(d)
		d.track.RequestKeyframe()
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, errCodecNotNegotiated
}

// Unbind detaches the down-track: the subscriber's transceiver stopped.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.track.detach(d)
	d.binding.Store(nil)
	return nil
}

// writeRTP sends pkt to the subscriber. It is called only from the track's forward
// loop and allocates nothing.
func (d *DownTrack) writeRTP(pkt *rtp.Packet) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	d.hdr = pkt.Header
	d.hdr.SSRC = b.ssrc
	d.hdr.PayloadType = b.payloadType
	d.hdr.Extension = false
	d.hdr.Extensions = nil
	d.hdr.ExtensionProfile = 0
	d.hdr.Padding = false
	d.hdr.PaddingSize = 0
	if _, err := b.out.WriteRTP(&d.hdr, pkt.Payload); err == nil {
		d.written.Add(1)
	}
}

// handleRTCP acts on feedback from the subscriber: keyframe requests (PLI, FIR) go to
// the publisher, throttled by the Track. NACKs are answered by the NACK interceptor
// before they get here.
func (d *DownTrack) handleRTCP(pkts []rtcp.Packet) {
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			d.track.RequestKeyframe()
		}
	}
}
