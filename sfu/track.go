package sfu

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/safe"
)

// TrackInfo describes a published track to the rest of the room.
type TrackInfo struct {
	ID          TrackID
	Participant ParticipantID
	Kind        webrtc.RTPCodecType
	Source      Source
	// Muted is set while an administrator has stopped the track's forwarding.
	Muted bool
	// SelfMuted is set while the publisher says it muted the track's source
	// (Participant.SetMuted): it sends silence or black frames, which are forwarded as
	// they come.
	SelfMuted bool
	// Layers are the rids of a simulcast track's layers, lowest quality first (as
	// the publisher's offer lists them); nil for a track of one layer.
	Layers []string
}

// keyframeInterval is the least time between two keyframe requests sent to one
// publisher for one track: the requests of every subscriber (PLI, FIR) and of every
// down-track that starts are folded into at most one per interval. Each request makes
// the encoder spend bits on a keyframe, several subscribers joining or losing packets
// together need only one, and a new subscriber is mostly served from the cached
// keyframe (faststart.go).
const keyframeInterval = time.Second

// maxPacketSize bounds one RTP packet read from a publisher: the UDP MTU Pion uses.
const maxPacketSize = 1500

// rtpReader is what a Track reads packets from: a *webrtc.TrackRemote in the server.
type rtpReader interface {
	Read(b []byte) (n int, a interceptor.Attributes, err error)
}

// Track is one published track: it reads RTP from its publisher and forwards each
// packet to every down-track attached to it.
//
// The down-tracks are a copy-on-write slice: attaching or detaching one rebuilds the
// slice under mu, and the forward loop reads the current slice without a lock.
type Track struct {
	info  TrackInfo
	codec webrtc.RTPCodecParameters
	log   *slog.Logger

	// sendRTCP writes to the publisher's connection (keyframe requests).
	sendRTCP func([]rtcp.Packet) error
	ssrc     uint32

	mu    sync.Mutex // held only to rebuild downs
	downs atomic.Pointer[[]*DownTrack]

	lastKeyframeRequest atomic.Int64 // unix nanoseconds
	keyframePending     atomic.Bool  // a delayed request is scheduled

	forwarded atomic.Uint64 // packets read from the publisher
	recv      recvStats     // stats.go
	counters  trackCounters // for metrics (metrics.go)
	muted     atomic.Bool   // forward nothing: an administrator muted the track
	selfMuted atomic.Bool   // the publisher muted its source (TrackInfo.SelfMuted)
	paused    atomic.Bool   // audio not forwarded: not among a large room's loudest

	// levelExt is the id of the audio level header extension the publisher
	// negotiated, 0 when none; loudness sums what it carried (speaker.go).
	levelExt uint8
	loudness atomic.Uint64

	// cache answers subscribers' NACKs and starts new ones (faststart.go); nil for
	// audio, whose codecs negotiate no NACK and need no keyframe.
	cache *packetCache
	isKey func([]byte) bool // the codec's keyframe test; nil: keyframes cannot be told

	// fanout batches the datagrams of one packet's fan-out on the shared UDP port;
	// nil (a port per connection) sends each at once.
	fanout *sendGroup
	// readAt is when the packet being forwarded was read (unix nanoseconds). Only
	// the forward loop touches it, and the DownTracks it writes to, on its goroutine.
	readAt int64

	// Simulcast (simulcast.go): root is the published track, t itself unless t is
	// one of its layers; quality is t's layer, 0 the lowest. A layer reads its own
	// stream, with its own SSRC, cache and keyframe requests, and writes to its
	// root's down-tracks, which pick one layer each.
	root    *Track
	quality int
	rid     string
	sim     *simulcast // the root's; nil for a track of one layer
}

func newTrack(info TrackInfo, codec webrtc.RTPCodecParameters, ssrc uint32,
	sendRTCP func([]rtcp.Packet) error, log *slog.Logger,
) *Track {
	t := &Track{info: info, codec: codec, ssrc: ssrc, sendRTCP: sendRTCP, log: log}
	t.root = t
	t.downs.Store(new([]*DownTrack))
	if info.Kind == webrtc.RTPCodecTypeVideo {
		t.cache = &packetCache{}
		t.isKey = keyframeTest(codec.MimeType)
	}
	return t
}

// Info describes the track.
func (t *Track) Info() TrackInfo {
	info := t.info
	info.Muted = t.muted.Load()
	info.SelfMuted = t.selfMuted.Load()
	return info
}

// Codec is the codec the publisher sends; subscribers receive the same.
func (t *Track) Codec() webrtc.RTPCodecParameters { return t.codec }

// Packets is how many packets the track has read from its publisher.
func (t *Track) Packets() uint64 { return t.forwarded.Load() }

// readLoop forwards packets from r until r fails (the publisher's connection or
// transceiver stopped), or until forwarding panics: the panic is logged and counted,
// and the track ends as if its publisher had stopped (its caller unpublishes it).
// It allocates nothing per packet.
func (t *Track) readLoop(r rtpReader) {
	defer safe.Recover(t.log, "forward loop", nil)
	buf := make([]byte, maxPacketSize)
	var pkt rtp.Packet
	for {
		n, _, err := r.Read(buf)
		if err != nil {
			return
		}
		t.forward(&pkt, buf[:n])
	}
}

// forward parses one packet into pkt and writes it to every down-track.
func (t *Track) forward(pkt *rtp.Packet, b []byte) {
	if err := pkt.Unmarshal(b); err != nil {
		return
	}
	now := time.Now().UnixNano()
	t.readAt = now
	t.recv.observe(pkt.SequenceNumber, pkt.Timestamp, len(b), now, t.codec.ClockRate)
	if len(pkt.Payload) == 0 {
		// Padding-only probes carry nothing to forward.
		return
	}
	t.forwarded.Add(1)
	root := t.root
	if root.muted.Load() {
		// Not cached either: a NACK must not bring a muted packet back.
		t.counters.drop(DropMuted)
		return
	}
	if t.levelExt != 0 {
		t.observeLevel(pkt)
	}
	if t.paused.Load() {
		t.counters.drop(DropNotLoudest)
		return
	}
	if t.cache != nil {
		t.cache.put(pkt.SequenceNumber, b)
		if t.isKey != nil && t.isKey(pkt.Payload) {
			t.cache.markKeyframe(pkt.SequenceNumber, pkt.Timestamp, now)
			if t.sim != nil {
				t.sim.sawKeyframe(t, pkt.Payload)
			}
		}
	}
	t.fanout.begin()
	var copies, bytes uint64
	for _, d := range *root.downs.Load() {
		if n := d.writeRTP(t, pkt); n > 0 {
			copies++
			bytes += uint64(n)
		}
	}
	t.fanout.end()
	if copies > 0 {
		t.counters.packetsOut.Add(copies)
		t.counters.bytesOut.Add(bytes)
	}
}

func (t *Track) attach(d *DownTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	if slices.Contains(old, d) {
		return
	}
	next := append(slices.Clip(old), d)
	t.downs.Store(&next)
}

func (t *Track) detach(d *DownTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	i := slices.Index(old, d)
	if i < 0 {
		return
	}
	next := slices.Delete(slices.Clone(old), i, i+1)
	t.downs.Store(&next)
}

// DownTracks is how many down-tracks are attached now.
func (t *Track) DownTracks() int { return len(*t.downs.Load()) }

// RequestKeyframe asks the publisher for a keyframe, at most once per
// keyframeInterval; a request inside the interval is sent when the interval ends, so
// that a subscriber attached just after a request is still served. Audio tracks
// ignore it.
func (t *Track) RequestKeyframe() {
	if t.info.Kind != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	last := t.lastKeyframeRequest.Load()
	if wait := time.Duration(last + int64(keyframeInterval) - now); wait > 0 {
		if t.keyframePending.CompareAndSwap(false, true) {
			time.AfterFunc(wait, func() {
				defer safe.Recover(t.log, "delayed keyframe request", nil)
				t.keyframePending.Store(false)
				t.RequestKeyframe()
			})
		}
		return
	}
	if !t.lastKeyframeRequest.CompareAndSwap(last, now) {
		return // another caller sent it just now
	}
	err := t.sendRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: t.ssrc}})
	if err != nil {
		t.log.Debug("keyframe request not sent", "err", err)
		return
	}
	t.counters.keyframeRequests.Add(1)
}

// setMuted stops (true) or resumes (false) forwarding, and reports whether that
// changed anything. On resuming, every down-track continues its numbering where it
// stopped, from the next keyframe, as after a change of source.
func (t *Track) setMuted(muted bool) bool {
	if !muted {
		if !t.muted.Load() {
			return false
		}
		now := time.Now()
		for _, d := range *t.downs.Load() {
			d.resume(t, now)
		}
	}
	changed := t.muted.Swap(muted) != muted
	if muted {
		// The packets of the mute are not cached: what the caches hold no longer
		// leads to the packets after it.
		for i := range t.numLayers() {
			if l := t.layer(i); l != nil && l.cache != nil {
				l.cache.forgetKeyframe()
			}
		}
	}
	if changed && !muted {
		for i := range t.numLayers() {
			requestLayerKeyframe(t.layer(i))
		}
	}
	return changed
}
