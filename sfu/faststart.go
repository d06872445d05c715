package sfu

import (
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/vp8"
	"github.com/switchboard-rtc/switchboard/sfu/layer"
)

// Fast start: a new video down-track does not wait for the publisher to answer a
// keyframe request. Each published video track's packet cache remembers where the
// last keyframe it holds starts (packetCache.markKeyframe); a down-track that starts
// (a new subscriber, a viewer switched to another publisher) sends that keyframe and
// every packet cached since, in the numbering of what follows, as soon as its
// transport can carry them. It asks the publisher for a keyframe only when no usable
// one is cached.

// maxKeyframeAge is how old a cached keyframe may be to start a down-track with: the
// burst carries every packet since it, so an old keyframe means a long burst and a
// picture that catches up visibly. Publishers that send a keyframe every second or
// two (OBS, GStreamer, the bench's) are always within it; a browser sends them only
// when asked, and is asked.
const maxKeyframeAge = 2 * time.Second

// maxStartPackets bounds a fast start's burst: at most half the packet cache, about
// 380 KB of 1500-byte packets, however recent the keyframe. Past it the down-track
// asks for a keyframe instead.
const maxStartPackets = cacheSize / 2

// keyframeMark is where a track's last keyframe starts: its first packet's sequence
// number and timestamp, and when it arrived (unix nanoseconds).
type keyframeMark struct {
	seq uint16
	ts  uint32
	at  int64
	ok  bool
}

// fresh reports whether the mark is a keyframe recent enough to start from at now.
func (m keyframeMark) fresh(now int64) bool {
	return m.ok && now-m.at <= int64(maxKeyframeAge)
}

// keyframeTest is the keyframe test of codec mime; nil for a codec whose keyframes
// cannot be told (every packet would count as one).
func keyframeTest(mime string) func([]byte) bool {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return vp8.IsKeyframe
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return isH264Keyframe
	case strings.EqualFold(mime, webrtc.MimeTypeVP9):
		return isVP9Keyframe
	}
	return nil
}

// startState is a video down-track's progress to its first keyframe. d.mu guards it.
type startState struct {
	pending bool // nothing has reached the subscriber since the start
	asked   bool // a keyframe was requested for this start
}

// beginLocked prepares the down-track to start from src: video waits for a
// keyframe, taken from the cache of the layer it starts with when that has a fresh
// one. It returns the layer to ask for one (the caller does, without d.mu), nil for
// none. d.mu is held.
func (d *DownTrack) beginLocked(src *Track, now time.Time) (ask *Track) {
	l := src.startLayer(d.sel.Target())
	d.cur = l
	d.layered = src.sim != nil
	d.mungeVP8 = d.layered && strings.EqualFold(d.mime, webrtc.MimeTypeVP8)
	if l == nil {
		d.sel.Start(layer.None)
		return nil
	}
	d.sel.Start(l.quality)
	if d.kind != webrtc.RTPCodecTypeVideo || l.cache == nil {
		return nil
	}
	d.rw.keyframe = true
	stale := !l.cache.lastKeyframe().fresh(now.UnixNano())
	d.start = startState{pending: true, asked: stale}
	if stale {
		return l
	}
	return nil
}

// startLocked writes pkt to a down-track that has sent nothing since it started:
// the cached keyframe and the packets after it first when they are usable, else pkt
// alone once it is a keyframe. Until a packet reaches the subscriber (a transport
// not yet connected takes none) it tries again with each packet. It returns the
// size of pkt as sent, and whether a keyframe must be requested. d.mu is held.
func (d *DownTrack) startLocked(b *downBinding, src *Track, pkt *rtp.Packet) (int, bool) {
	mark := src.cache.lastKeyframe()
	span := pkt.SequenceNumber - mark.seq // packets from the keyframe to pkt, pkt excluded
	if !mark.fresh(time.Now().UnixNano()) || span >= maxStartPackets || !d.cachedLocked(src, mark) {
		return d.awaitKeyframeLocked(b, src, pkt)
	}
	var burst, bytes uint64
	for seq := mark.seq; seq != pkt.SequenceNumber; seq++ {
		size := src.cache.get(seq, d.rtx.buf[:])
		if size == 0 || d.rtx.pkt.Unmarshal(d.rtx.buf[:size]) != nil {
			continue // lost on the way in, and still missing: the subscriber will NACK it
		}
		n := d.forwardLocked(b, src, &d.rtx.pkt)
		if n == 0 && seq == mark.seq {
			return 0, false // the transport is not ready: again with the next packet
		}
		burst++
		bytes += uint64(n)
	}
	n := d.forwardLocked(b, src, pkt)
	if n == 0 && burst == 0 {
		return 0, false // pkt is the keyframe, and the transport is not ready
	}
	d.start.pending = false
	src.counters.fastStarts.Add(1)
	src.counters.packetsOut.Add(burst)
	src.counters.bytesOut.Add(bytes)
	return n, false
}

// cachedLocked reports whether the first packet of mark's keyframe is still in
// src's cache (not overwritten by a packet cacheSize numbers later). d.mu is held.
func (d *DownTrack) cachedLocked(src *Track, mark keyframeMark) bool {
	size := src.cache.get(mark.seq, d.rtx.buf[:])
	return size > 0 && d.rtx.pkt.Unmarshal(d.rtx.buf[:size]) == nil && d.rtx.pkt.Timestamp == mark.ts
}

// awaitKeyframeLocked writes pkt if it is a keyframe (the rewriter drops the others),
// and asks for one, once per start, while none has gone out. d.mu is held.
func (d *DownTrack) awaitKeyframeLocked(b *downBinding, src *Track, pkt *rtp.Packet) (int, bool) {
	n := d.forwardLocked(b, src, pkt)
	if n > 0 {
		d.start.pending = false
		return n, false
	}
	ask := !d.start.asked
	d.start.asked = true
	return 0, ask
}
