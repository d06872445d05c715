package sfu

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// retransmitter is a down-track's buffer for resending packets from its source's
// cache. It is used under the down-track's mu.
type retransmitter struct {
	buf    [maxPacketSize]byte
	pkt    rtp.Packet
	budget budget

	// out is an RTX payload: the original sequence number, then the original
	// payload (RFC 4588 section 4); seq numbers the retransmission stream.
	out [maxPacketSize + 2]byte
	seq uint16

	sent, missed atomic.Uint64 // NACKed packets resent, and those no longer cached
	refused      atomic.Uint64 // NACKed packets not resent: over the budget
}

// The retransmission budget of one down-track, in packets: a subscriber that NACKs
// more than this (a broken or hostile receiver asking for the whole cache again and
// again) would turn the server into an amplifier. 500 a second is over half of an
// 8 Mbit/s video stream (about 800 packets a second) resent, far past what a stream
// that still decodes needs; the burst covers half the cache after a loss spike.
const (
	retransmitRate  = 500
	retransmitBurst = cacheSize / 2
)

// budget is a token bucket of retransmitted packets: retransmitRate a second, up to
// retransmitBurst at once. (The media core imports no other package of this module,
// internal/ratelimit included.) It is used under the down-track's mu.
type budget struct {
	tokens float64
	last   time.Time // of the last take; zero: never, the bucket is full
}

// take spends one token at now, or reports that there is none.
func (b *budget) take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = retransmitBurst
	} else {
		b.tokens = min(retransmitBurst, b.tokens+max(now.Sub(b.last).Seconds(), 0)*retransmitRate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// retransmit resends the packets a NACK asks for that the source still caches, as
// far as the down-track's budget allows; the others are counted as refused.
func (d *DownTrack) retransmit(nack *rtcp.TransportLayerNack) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	src := d.cur // the layer forwarded now: the numbers asked for are its
	if src == nil || src.cache == nil {
		return
	}
	now := time.Now()
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			src.counters.nacks.Add(1)
			if !d.rtx.budget.take(now) {
				d.rtx.refused.Add(1)
				src.counters.drop(DropNACKBudget)
				return true
			}
			d.resend(b, src, seq)
			return true
		})
	}
}

// resend writes one cached packet, rewritten as it was first sent. d.mu is held.
func (d *DownTrack) resend(b *downBinding, src *Track, seq uint16) {
	srcSeq, ok := d.rw.sourceSeq(seq)
	n := 0
	if ok {
		n = src.cache.get(srcSeq, d.rtx.buf[:])
	}
	if n == 0 || d.rtx.pkt.Unmarshal(d.rtx.buf[:n]) != nil {
		d.rtx.missed.Add(1)
		src.counters.drop(DropNotCached)
		return
	}
	if d.mungeVP8 {
		d.vp8.Again(d.rtx.pkt.Payload) // the picture id the packet had when first sent
	}
	d.hdr = d.rtx.pkt.Header
	d.hdr.SequenceNumber = seq
	d.hdr.Timestamp += d.rw.tsOffset
	if written, err := d.sendAgain(b, seq); err == nil && written > 0 {
		d.rtx.sent.Add(1)
		src.counters.retransmitted.Add(1)
	}
}

// sendAgain writes d.hdr and the payload of d.rtx.pkt, the packet numbered seq:
// on the retransmission stream when the subscriber has one (its own sequence
// numbers, seq first in the payload), else as it was first sent. d.mu is held.
func (d *DownTrack) sendAgain(b *downBinding, seq uint16) (int, error) {
	if b.rtxSSRC == 0 {
		return d.send(b, d.rtx.pkt.Payload, time.Now().UnixNano())
	}
	binary.BigEndian.PutUint16(d.rtx.out[:2], seq)
	size := 2 + copy(d.rtx.out[2:], d.rtx.pkt.Payload)
	d.hdr.SequenceNumber = d.rtx.seq
	d.rtx.seq++
	return d.sendAs(b, b.rtxSSRC, b.rtxPayloadType, d.rtx.out[:size], time.Now().UnixNano())
}

// rtxPayloadType finds, among the codecs a subscriber accepted, the retransmission
// format (RFC 4588) associated with payload type pt ("apt=pt").
func rtxPayloadType(codecs []webrtc.RTPCodecParameters, pt webrtc.PayloadType) (uint8, bool) {
	apt := "apt=" + strconv.Itoa(int(pt))
	for _, c := range codecs {
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && slices.Contains(strings.Split(c.SDPFmtpLine, ";"), apt) {
			return uint8(c.PayloadType), true
		}
	}
	return 0, false
}

// Retransmitted is how many packets the down-track resent on NACKs, and how many it
// could not because they were no longer cached.
func (d *DownTrack) Retransmitted() (sent, missed uint64) {
	return d.rtx.sent.Load(), d.rtx.missed.Load()
}

// RetransmitsRefused is how many NACKed packets the down-track did not resend because
// its subscriber was over its retransmission budget.
func (d *DownTrack) RetransmitsRefused() uint64 { return d.rtx.refused.Load() }
