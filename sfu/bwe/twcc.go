package bwe

import (
	"encoding/binary"
	"errors"
	"time"
)

// historySize is how many sent packets a connection remembers for the feedback
// that reports them: half a second at 5 Mbit/s, where feedback comes every 50 to
// 100 ms. A power of two: the sequence number's low bits index it.
const historySize = 1 << 9

// sendRecord is one packet sent: its transport-wide sequence number, its size, and
// when it was sent (microseconds since the estimator started, modulo 2^32: a
// record is read back within seconds).
type sendRecord struct {
	at   uint32
	size uint16 // 0: no packet recorded here
	seq  uint16
}

// packetResult is what one feedback says of one packet the connection sent.
type packetResult struct {
	sent     int64 // microseconds since the estimator started
	arrived  int64 // microseconds on the receiver's clock; meaningful when received
	size     int
	received bool
}

// Measures reports whether a packet sent at now (unix nanoseconds) is to be stamped:
// always, but while the estimate has ample room over what is sent, only in the
// measurement windows (see the package comment). A packet not stamped goes without
// the extension. It allocates nothing and takes no lock.
func (e *Estimator) Measures(now int64) bool {
	return !e.sparse.Load() || (now-e.startNanos)%sparsePeriod < sparseWindow
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
	e.sends[seq%historySize] = sendRecord{at: at, size: uint16(min(max(size, 1), 0xffff)), seq: seq}
	return seq
}

// lookup is the record of the packet with seq, false when it is no longer (or never
// was) in the history. e.sendMu is held.
func (e *Estimator) lookup(seq uint16) (sendRecord, bool) {
	if e.sends == nil {
		return sendRecord{}, false
	}
	r := e.sends[seq%historySize]
	return r, r.size != 0 && r.seq == seq
}

// Errors of Feedback.
var (
	ErrNotTWCC       = errors.New("bwe: not a transport-wide congestion control feedback")
	ErrMalformedRTCP = errors.New("bwe: malformed transport-wide feedback")
)

// IsFeedback reports whether the RTCP packet at the start of b (a compound packet
// may follow) is a transport-wide congestion control feedback.
func IsFeedback(b []byte) bool {
	return len(b) >= 4 && b[0]>>6 == 2 && b[0]&0x1f == fmtTWCC && b[1] == ptTransportFeedback
}

// RTCP of a transport-wide feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01,
// section 3.1): transport layer feedback, format 15.
const (
	ptTransportFeedback = 205
	fmtTWCC             = 15
	twccHeaderSize      = 20 // RTCP header, two SSRCs, base, count, reference time and feedback count
)

// Feedback reads one transport-wide congestion control feedback packet from the
// receiver, b from its RTCP header on (the rest of a compound packet may follow),
// and updates the estimate's signals: the delay trend, the loss and the rate that
// arrived. Reports of packets the connection no longer remembers are ignored; a
// report that claims more deltas than it carries is read as far as it goes. It
// allocates nothing once its buffer has grown.
func (e *Estimator) Feedback(b []byte) error {
	return e.feedback(b, time.Now())
}

// FeedbackIn reads every transport-wide feedback packet of compound RTCP packet b
// (Feedback; one that is malformed is dropped), and reports whether b holds other
// packets, or is not framed as RTCP, for the caller to decode.
func (e *Estimator) FeedbackIn(b []byte) (others bool) {
	return e.feedbackIn(b, time.Now())
}

func (e *Estimator) feedbackIn(b []byte, now time.Time) (others bool) {
	for len(b) >= 4 {
		size := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if size > len(b) {
			return true
		}
		if IsFeedback(b) {
			_ = e.feedback(b[:size], now)
		} else {
			others = true
		}
		b = b[size:]
	}
	return others || len(b) > 0
}

// twccReport is a feedback packet's fields, its chunks and deltas unparsed.
type twccReport struct {
	base           uint16
	count          int
	reference      uint32 // 64 ms units, 24 bits
	chunks, deltas []byte
}

// parseTWCC checks the framing of the feedback at the start of b.
func parseTWCC(b []byte) (twccReport, error) {
	if !IsFeedback(b) {
		return twccReport{}, ErrNotTWCC
	}
	size := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
	if size > len(b) || size < twccHeaderSize {
		return twccReport{}, ErrMalformedRTCP
	}
	b = b[:size]
	if b[0]&0x20 != 0 { // padding: its last byte counts it
		pad := int(b[size-1])
		if pad == 0 || pad > size-twccHeaderSize {
			return twccReport{}, ErrMalformedRTCP
		}
		b = b[:size-pad]
	}
	r := twccReport{
		base:      binary.BigEndian.Uint16(b[12:]),
		count:     int(binary.BigEndian.Uint16(b[14:])),
		reference: uint32(b[16])<<16 | uint32(b[17])<<8 | uint32(b[18]),
	}
	body := b[twccHeaderSize:]
	n, covered := 0, 0
	for covered < r.count {
		if n+2 > len(body) {
			return twccReport{}, ErrMalformedRTCP
		}
		covered += chunkStatuses(binary.BigEndian.Uint16(body[n:]))
		n += 2
	}
	r.chunks, r.deltas = body[:n], body[n:]
	return r, nil
}

// maxReportStatuses bounds the packets read of one feedback: a report covers the
// packets sent since the last one, tens to a few hundred; the rest of one claiming
// more (up to 65535, in a few bytes of run-length chunks) could not be in the
// history anyway, and reading it would cost a client's every packet thousands of
// steps.
const maxReportStatuses = 4 * historySize

// Packet statuses of a feedback.
const (
	statusNotReceived = iota
	statusSmallDelta
	statusLargeDelta
	statusNoDelta // reserved: received, with no delta
)

// chunkStatuses is how many packet statuses a chunk holds.
func chunkStatuses(c uint16) int {
	switch {
	case c&0x8000 == 0: // run length
		return int(c & 0x1fff)
	case c&0x4000 != 0: // status vector of two-bit symbols
		return 7
	default: // of one-bit symbols
		return 14
	}
}

// chunkStatus is the status of the k-th packet of chunk c.
func chunkStatus(c uint16, k int) int {
	switch {
	case c&0x8000 == 0:
		return int(c>>13) & 3
	case c&0x4000 != 0:
		return int(c>>(12-2*k)) & 3
	default:
		return int(c>>(13-k)) & 1 // 1: received, with a small delta
	}
}

func (e *Estimator) feedback(b []byte, now time.Time) error {
	r, err := parseTWCC(b)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	nowMicros := (now.UnixNano() - e.startNanos) / 1000
	results := e.results[:0]
	arrived := e.unwrapReference(r.reference) * 64_000
	seq, deltas, remaining := r.base, r.deltas, min(r.count, maxReportStatuses)
	e.sendMu.Lock()
chunks:
	for ; len(r.chunks) >= 2 && remaining > 0; r.chunks = r.chunks[2:] {
		c := binary.BigEndian.Uint16(r.chunks)
		for k := range min(chunkStatuses(c), remaining) {
			remaining--
			status := chunkStatus(c, k)
			switch status {
			case statusSmallDelta:
				if len(deltas) < 1 {
					break chunks
				}
				arrived += int64(deltas[0]) * 250
				deltas = deltas[1:]
			case statusLargeDelta:
				if len(deltas) < 2 {
					break chunks
				}
				arrived += int64(int16(binary.BigEndian.Uint16(deltas))) * 250
				deltas = deltas[2:]
			}
			if rec, ok := e.lookup(seq); ok && status != statusNoDelta {
				results = append(results, packetResult{sent: nowMicros - int64(uint32(nowMicros)-rec.at),
					arrived: arrived, size: int(rec.size), received: status != statusNotReceived})
			}
			seq++
		}
	}
	e.sendMu.Unlock()
	e.results = results[:0] // kept for the next feedback: no allocation once grown
	e.observeLocked(results, now)
	return nil
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
