package bwe

import (
	"time"

	"github.com/pion/rtcp"
)

// historySize is how many sent packets a connection remembers for the feedback
// that reports them: about a second at 8 Mbit/s, where feedback comes every 50 to
// 100 ms. A power of two: the sequence number's low bits index it.
const historySize = 1 << 10

// sendRecord is one packet sent: its transport-wide sequence number, its size, and
// when it was sent (microseconds since the estimator started, modulo 2^32: a
// record is read back within seconds).
type sendRecord struct {
	at   uint32
	size uint16
	seq  uint16
	used bool
}

// packetResult is what one feedback says of one packet the connection sent.
type packetResult struct {
	sent     int64 // microseconds since the estimator started
	arrived  int64 // microseconds on the receiver's clock; meaningful when received
	size     int
	received bool
}

// Stamp records a packet of size bytes (header and payload) sent at now (unix
// nanoseconds), and returns the transport-wide sequence number to write into its
// header extension. It allocates nothing and is safe for concurrent use: the
// forward loops of all of a connection's tracks call it.
func (e *Estimator) Stamp(size int, now int64) uint16 {
	at := uint32((now - e.startNanos) / 1000)
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	if e.sends == nil {
		e.sends = new([historySize]sendRecord) // only connections that negotiated TWCC
	}
	seq := e.nextSeq
	e.nextSeq++
	e.sends[seq%historySize] = sendRecord{at: at, size: uint16(min(size, 0xffff)), seq: seq, used: true}
	return seq
}

// lookup is the record of the packet with seq, false when it is no longer (or never
// was) in the history. e.sendMu is held.
func (e *Estimator) lookup(seq uint16) (sendRecord, bool) {
	if e.sends == nil {
		return sendRecord{}, false
	}
	r := e.sends[seq%historySize]
	return r, r.used && r.seq == seq
}

// Feedback reads a transport-wide congestion control feedback from the receiver
// (draft-holmer-rmcat-transport-wide-cc-extensions) and updates the estimate's
// signals: the delay trend, the loss and the rate that arrived. Reports of packets
// the connection no longer remembers are ignored; a malformed report (more deltas
// claimed than carried) is read as far as it goes.
func (e *Estimator) Feedback(fb *rtcp.TransportLayerCC) {
	e.feedback(fb, time.Now())
}

func (e *Estimator) feedback(fb *rtcp.TransportLayerCC, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	nowMicros := (now.UnixNano() - e.startNanos) / 1000
	results := e.results[:0]
	e.sendMu.Lock()
	arrived := e.unwrapReference(fb.ReferenceTime) * 64_000
	seq, deltas := fb.BaseSequenceNumber, fb.RecvDeltas
	remaining := int(fb.PacketStatusCount)
	add := func(status uint16) bool {
		if remaining == 0 {
			return false
		}
		remaining--
		received := status == rtcp.TypeTCCPacketReceivedSmallDelta || status == rtcp.TypeTCCPacketReceivedLargeDelta
		if received {
			if len(deltas) == 0 {
				return false
			}
			arrived += deltas[0].Delta
			deltas = deltas[1:]
		}
		if r, ok := e.lookup(seq); ok && status != rtcp.TypeTCCPacketReceivedWithoutDelta {
			results = append(results, packetResult{sent: nowMicros - int64(uint32(nowMicros)-r.at), arrived: arrived, size: int(r.size), received: received})
		}
		seq++
		return true
	}
	for _, chunk := range fb.PacketChunks {
		switch c := chunk.(type) {
		case *rtcp.RunLengthChunk:
			for range c.RunLength {
				if !add(c.PacketStatusSymbol) {
					break
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				if c.SymbolSize == rtcp.TypeTCCSymbolSizeOneBit && s == 1 {
					s = rtcp.TypeTCCPacketReceivedSmallDelta // one bit: 1 is received
				}
				if !add(s) {
					break
				}
			}
		}
	}
	e.sendMu.Unlock()
	e.results = results[:0] // kept for the next feedback: no allocation once grown
	e.observeLocked(results, now)
}

// unwrapReference extends the feedback's 24-bit reference time (in 64 ms units) to
// a count that does not wrap, from the previous one. e.mu is held.
func (e *Estimator) unwrapReference(ref uint32) int64 {
	const span = 1 << 24
	if !e.haveRef {
		e.haveRef, e.lastRef, e.refBase = true, ref, int64(ref)
		return e.refBase
	}
	d := int64(ref) - int64(e.lastRef)
	switch {
	case d > span/2:
		d -= span
	case d < -span/2:
		d += span
	}
	e.lastRef = ref
	e.refBase += d
	return e.refBase
}
