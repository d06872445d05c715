package sfu

import (
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// retransmitter is a down-track's buffer for resending packets from its source's
// cache. It is used under the down-track's mu.
type retransmitter struct {
	buf [maxPacketSize]byte
	pkt rtp.Packet

	sent, missed atomic.Uint64 // NACKed packets resent, and those no longer cached
}

// retransmit resends the packets a NACK asks for that the source still caches.
func (d *DownTrack) retransmit(nack *rtcp.TransportLayerNack) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	src := d.source
	if src == nil || src.cache == nil {
		return
	}
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			d.resend(b, src.cache, seq)
			return true
		})
	}
}

// resend writes one cached packet, rewritten as it was first sent. d.mu is held.
func (d *DownTrack) resend(b *downBinding, cache *packetCache, seq uint16) {
	srcSeq, ok := d.rw.sourceSeq(seq)
	n := 0
	if ok {
		n = cache.get(srcSeq, d.rtx.buf[:])
	}
	if n == 0 || d.rtx.pkt.Unmarshal(d.rtx.buf[:n]) != nil {
		d.rtx.missed.Add(1)
		return
	}
	d.hdr = d.rtx.pkt.Header
	d.hdr.SequenceNumber = seq
	d.hdr.Timestamp += d.rw.tsOffset
	if d.send(b, d.rtx.pkt.Payload) {
		d.rtx.sent.Add(1)
	}
}

// Retransmitted is how many packets the down-track resent on NACKs, and how many it
// could not because they were no longer cached.
func (d *DownTrack) Retransmitted() (sent, missed uint64) {
	return d.rtx.sent.Load(), d.rtx.missed.Load()
}
