package sfu

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu/bwe"
	"github.com/switchboard-rtc/switchboard/sfu/layer"
)

// DownTrack sends one published Track to one subscriber. It is the
// webrtc.TrackLocal added to the subscriber's connection: Pion binds it once the
// subscriber has answered, and from then on the Track's forward loop writes to it.
//
// Each packet goes out with the SSRC and payload type negotiated with the subscriber
// and without the publisher's header extensions, whose ids the subscriber never
// agreed to.
//
// A down-track may change source (a WHEP viewer whose publisher left and another
// arrived): switchTo points it at another Track, and from the next keyframe of that
// track on, sequence numbers and timestamps continue where the old source stopped,
// so the subscriber sees one uninterrupted stream.
type DownTrack struct {
	track    *Track // the track it was made for; nil for a viewer's down-track
	id       string
	streamID string
	kind     webrtc.RTPCodecType
	mime     string // the codec a source must have
	clock    uint32

	binding atomic.Pointer[downBinding]

	// mu guards what follows. Only forward loops take it, one packet at a time: it is
	// uncontended except during a switch, when the old and new sources' loops may
	// both be writing.
	mu     sync.Mutex
	source *Track
	// cur is the layer of source forwarded now (source itself for a track of one
	// layer); sel picks it (simulcast.go). vp8 keeps picture ids continuous across
	// layers when layered is set (a simulcast VP8 source); lastSentAt is when the
	// last packet went out (unix nanoseconds), for the timestamp gap of a switch.
	cur        *Track
	sel        layer.Selector
	vp8        layer.VP8Munger
	layered    bool
	mungeVP8   bool
	lastSentAt int64
	rw         rewriter
	hdr        rtp.Header       // the outgoing header, reused for every packet
	ext        [1]rtp.Extension // hdr's extensions: room for the transport-wide sequence number
	twccSeq    [2]byte          // the payload of that extension
	rtx        retransmitter
	start      startState // faststart.go
	written    atomic.Uint64
	sent       sendStats // stats.go
	bytes      uint64    // sent to the subscriber; guarded by mu
	// payloadBytes is the payload part of bytes, for sender reports; lastSR the last
	// sender report sent (senderreport.go). Guarded by mu.
	payloadBytes uint64
	lastSR       srRecord

	// rtcpOut sends RTCP to the subscriber (sender reports); nil sends none.
	rtcpOut rtcpWriter
	// twcc numbers the packets sent for the subscriber connection's bandwidth
	// estimate and reads its feedback; nil for a viewer's down-track.
	twcc *bwe.Estimator

	// first is the subscribing participant's first-media mark; nil for a viewer's.
	first *firstMedia
}

type downBinding struct {
	ssrc        uint32
	payloadType uint8
	out         webrtc.TrackLocalWriter

	// rtxSSRC and rtxPayloadType are the retransmission stream's (RFC 4588) when the
	// subscriber accepted one for the codec; rtxSSRC 0 resends on the stream itself.
	rtxSSRC        uint32
	rtxPayloadType uint8

	// twccID is the id of the TWCC header extension, 0 when not negotiated.
	twccID uint8
}

func newDownTrack(t *Track) *DownTrack {
	stream := string(t.info.Participant)
	if t.info.Source == SourceScreen {
		stream += ":screen"
	}
	d := &DownTrack{
		track: t, id: string(t.info.ID), streamID: stream, kind: t.info.Kind,
		mime: t.codec.MimeType, clock: t.codec.ClockRate, source: t,
	}
	d.sel.SetTarget(t.numLayers() - 1) // until told otherwise, the best
	return d
}

// newViewerDownTrack is a down-track of the given kind and codec with no source yet.
func newViewerDownTrack(id, stream string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability) *DownTrack {
	return &DownTrack{id: id, streamID: stream, kind: kind, mime: codec.MimeType, clock: codec.ClockRate}
}

// ID is the published track's id (a fixed name for a viewer's down-track).
func (d *DownTrack) ID() string { return d.id }

// RID is empty: a down-track carries one stream.
func (d *DownTrack) RID() string { return "" }

// StreamID groups a participant's camera and microphone into one MediaStream at the
// subscriber; a screen share is a stream of its own.
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind is the kind of media the down-track carries.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.kind }

// Track is the published track this down-track was made for; nil for a viewer's.
func (d *DownTrack) Track() *Track { return d.track }

// Packets is how many packets were written to the subscriber.
func (d *DownTrack) Packets() uint64 { return d.written.Load() }

// errCodecNotNegotiated is returned by Bind when the subscriber cannot receive the
// publisher's codec.
var errCodecNotNegotiated = errors.New("sfu: subscriber does not support the track's codec")

// Bind attaches the down-track to its source with the codec the subscriber accepted.
// Video starts with the source's cached keyframe, or asks the publisher for one when
// none is cached (faststart.go).
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, d.mime) {
			continue
		}
		b := &downBinding{ssrc: uint32(ctx.SSRC()), payloadType: uint8(c.PayloadType), out: ctx.WriteStream()}
		if pt, ok := rtxPayloadType(ctx.CodecParameters(), c.PayloadType); ok && ctx.SSRCRetransmission() != 0 {
			b.rtxSSRC, b.rtxPayloadType = uint32(ctx.SSRCRetransmission()), pt
		}
		d.mu.Lock()
		for _, ext := range ctx.HeaderExtensions() {
			if ext.URI == sdp.TransportCCURI && ext.ID > 0 && ext.ID < 15 && d.twcc != nil {
				b.twccID = uint8(ext.ID)
				h := rtp.Header{Extensions: d.ext[:0]}
				_ = h.SetExtension(b.twccID, d.twccSeq[:]) // written into d.ext[0]
			}
		}
		d.binding.Store(b)
		d.rtx.seq = uint16(rand.Uint32()) // RFC 3550: a random first sequence number
		src := d.source
		var ask *Track
		if src != nil {
			ask = d.beginLocked(src, time.Now())
			src.attach(d)
		}
		d.mu.Unlock()
		requestLayerKeyframe(ask)
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, errCodecNotNegotiated
}

// Unbind detaches the down-track: the subscriber's transceiver stopped.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	src := d.source
	if src != nil {
		src.detach(d)
	}
	d.mu.Unlock()
	d.binding.Store(nil)
	return nil
}

// switchTo makes t the source (nil: none). A source whose codec differs from the
// down-track's is refused as nil: changing codec would need a renegotiation.
func (d *DownTrack) switchTo(t *Track) {
	if t != nil && !strings.EqualFold(t.codec.MimeType, d.mime) {
		t = nil
	}
	d.mu.Lock()
	old := d.source
	if old == t {
		d.mu.Unlock()
		return
	}
	if old != nil {
		old.detach(d)
	}
	d.source, d.cur = t, nil
	if t != nil {
		d.sel.SetTarget(t.numLayers() - 1)
	}
	now := time.Now()
	d.rw.switched(now, d.kind == webrtc.RTPCodecTypeVideo)
	d.vp8.Rebase()
	var ask *Track
	if t != nil && d.binding.Load() != nil {
		ask = d.beginLocked(t, now)
		t.attach(d)
	}
	d.mu.Unlock()
	requestLayerKeyframe(ask)
}

// resume notes that src, the source, forwards again after a mute: numbering
// continues from the last packet sent, and video waits for a keyframe.
func (d *DownTrack) resume(src *Track, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.source == src {
		d.rw.switched(now, d.kind == webrtc.RTPCodecTypeVideo)
		d.vp8.Rebase()
		d.start = startState{} // the cache holds nothing of the mute: no fast start
	}
}

// Source is the track the down-track forwards now, nil when none.
func (d *DownTrack) Source() *Track {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.source
}

// writeRTP sends pkt, read from src, to the subscriber. It is called only from
// forward loops and allocates nothing. It returns the size of the packet sent, 0 when
// it sent none.
func (d *DownTrack) writeRTP(src *Track, pkt *rtp.Packet) (size int) {
	b := d.binding.Load()
	if b == nil || d.sel.Ignores(src.quality) {
		return 0 // not bound yet, or another layer than it forwards or awaits
	}
	size, ask := d.write(b, src, pkt)
	if size > 0 {
		d.first.mark() // outside d.mu: it may call out
	}
	if ask {
		src.RequestKeyframe()
	}
	return size
}

// write does writeRTP's work under d.mu, and returns the size of the packet sent, 0
// when it sent none, and whether the publisher must be asked for a keyframe. The
// source's counters of what was sent are the caller's to add: the forward loop adds
// them once per packet, not once per copy.
func (d *DownTrack) write(b *downBinding, src *Track, pkt *rtp.Packet) (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if src.root != d.source {
		return 0, false // the loop of a source switched away from
	}
	if !d.acceptLocked(src, pkt) {
		return 0, false // another layer
	}
	if d.start.pending {
		return d.startLocked(b, src, pkt)
	}
	return d.forwardLocked(b, src, pkt), false
}

// forwardLocked rewrites pkt into the down-track's numbering and sends it, unless
// the down-track waits for a keyframe. It returns the size sent, 0 when nothing
// reached the subscriber. d.mu is held.
func (d *DownTrack) forwardLocked(b *downBinding, src *Track, pkt *rtp.Packet) int {
	if d.rw.waiting(src.codec.MimeType, pkt) {
		src.counters.drop(DropNoKeyframe)
		return 0
	}
	d.hdr = pkt.Header
	d.rw.rewrite(&d.hdr, d.clock)
	var n int
	var err error
	if d.layered {
		// The payload is the forward loop's, shared by every down-track: changed
		// for this one, sent (copied into an encrypted datagram) and put back.
		var saved layer.Saved
		if d.mungeVP8 {
			saved = d.vp8.Rewrite(pkt.Payload)
		}
		n, err = d.send(b, pkt.Payload, src.readAt)
		layer.Restore(pkt.Payload, saved)
		d.lastSentAt = src.readAt // on src's forward loop: the time it read pkt
	} else {
		n, err = d.send(b, pkt.Payload, src.readAt)
	}
	if err != nil {
		src.counters.drop(DropWriteFailed)
		return 0
	}
	if n == 0 {
		return 0 // the transport is not connected yet: Pion drops the packet
	}
	size := d.hdr.MarshalSize() + len(pkt.Payload)
	d.written.Add(1)
	d.bytes += uint64(size)
	d.payloadBytes += uint64(len(pkt.Payload))
	return size
}

// send writes d.hdr, made the subscriber's, and payload, and returns what the write
// stream returned: 0 bytes and no error before the subscriber's transport is up.
// now is the time of the send (unix nanoseconds; the forward loop's read time will
// do: the fan-out goes out at once). d.mu is held.
func (d *DownTrack) send(b *downBinding, payload []byte, now int64) (int, error) {
	return d.sendAs(b, b.ssrc, b.payloadType, payload, now)
}

// sendAs is send on the stream ssrc with payload type pt: the down-track's own, or
// its retransmission stream. A subscriber that negotiated TWCC gets the packet
// numbered in the connection's transport-wide sequence when its estimator measures
// (bwe.Estimator.Measures). d.mu is held.
func (d *DownTrack) sendAs(b *downBinding, ssrc uint32, pt uint8, payload []byte, now int64) (int, error) {
	d.hdr.SSRC = ssrc
	d.hdr.PayloadType = pt
	d.hdr.Padding = false
	d.hdr.PaddingSize = 0
	if b.twccID == 0 || !d.twcc.Measures(now) {
		d.hdr.Extension = false
		d.hdr.Extensions = d.ext[:0]
		d.hdr.ExtensionProfile = 0
		return b.out.WriteRTP(&d.hdr, payload)
	}
	// d.ext[0] carries d.twccSeq under b.twccID (set by Bind).
	d.hdr.Extension = true
	d.hdr.Extensions = d.ext[:1]
	d.hdr.ExtensionProfile = rtp.ExtensionProfileOneByte
	seq := d.twcc.Stamp(d.hdr.MarshalSize()+len(payload), now)
	binary.BigEndian.PutUint16(d.twccSeq[:], seq)
	return b.out.WriteRTP(&d.hdr, payload)
}

// handleRTCP acts on feedback from the subscriber: keyframe requests (PLI, FIR) go to
// the publisher, throttled by the Track; NACKs are answered from the track's packet
// cache.
func (d *DownTrack) handleRTCP(pkts []rtcp.Packet) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			requestLayerKeyframe(d.Layer())
		case *rtcp.TransportLayerNack:
			d.retransmit(p)
		case *rtcp.ReceiverReport:
			d.takeReports(p.Reports)
		}
	}
}

// sentBytes is how many bytes of RTP were sent to the subscriber.
func (d *DownTrack) sentBytes() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bytes
}

// takeReports keeps what the subscriber's receiver reports say about this stream.
func (d *DownTrack) takeReports(reports []rtcp.ReceptionReport) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	for _, r := range reports {
		if r.SSRC == b.ssrc {
			d.sent.report(r, time.Now(), d.clock, d.sentBytes(), d.sentReportAt(r.LastSenderReport))
		}
	}
}

// Layer is the layer of the source forwarded now (the source itself for a track of
// one layer), nil when none is.
func (d *DownTrack) Layer() *Track {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur
}

// acceptLocked reports whether pkt, read from src (a layer of the source), is
// forwarded, and moves to src when it is the keyframe the selector waits for: the
// numbering then continues across the switch. d.mu is held.
func (d *DownTrack) acceptLocked(src *Track, pkt *rtp.Packet) bool {
	key := false
	if d.sel.Switching(src.quality) {
		key = src.isKey == nil || src.isKey(pkt.Payload)
	}
	forward, switched := d.sel.Accept(src.quality, key)
	if switched && d.cur != src {
		d.cur = src
		if !d.start.pending {
			at := time.Now()
			if d.lastSentAt != 0 {
				at = time.Unix(0, d.lastSentAt)
			}
			d.rw.switched(at, d.kind == webrtc.RTPCodecTypeVideo)
			d.vp8.Rebase()
		}
	}
	return forward
}

// SetLayer makes l (layer.None: none) the layer of its source the down-track
// should forward; it moves there at l's next keyframe, which it asks for. While l
// does not arrive (its publisher stopped sending it) the down-track aims at the
// nearest layer that does, below l first (Track.reachable), and back at l once it
// flows again: the caller calls SetLayer again (each allocation does).
func (d *DownTrack) SetLayer(l int) {
	d.mu.Lock()
	src := d.source
	if src != nil {
		l = src.reachable(l, time.Now())
	}
	ask := d.sel.SetTarget(l)
	if l == layer.None {
		d.cur = nil
		if !d.layered {
			d.lastSentAt = time.Now().UnixNano() // the timestamps resume from here
		}
	}
	d.mu.Unlock()
	if ask && src != nil {
		requestLayerKeyframe(src.layer(l))
	}
}

// Shed stops forwarding the layer forwarded now, when the down-track waits to
// switch to another: until the target's keyframe it forwards nothing. The caller
// sheds a layer that alone overflows the subscriber's link: forwarding it until the
// switch would keep the link's queue full and lose the very keyframe the switch
// waits for, stalling the picture longer than the gap.
func (d *DownTrack) Shed() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.sel.Target(); t != layer.None && t != d.sel.Current() {
		d.sel.Start(layer.None)
		d.cur = nil
	}
}

// TargetLayer is the layer the down-track should forward, layer.None for none.
func (d *DownTrack) TargetLayer() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sel.Target()
}
