// Package bwe estimates, per subscriber connection, the bandwidth the server may
// send at, from the subscriber's transport-wide congestion control (TWCC) feedback.
//
// The server numbers every packet it sends on a connection that negotiated TWCC
// (Estimator.Stamp: a sequence number for the header extension and a record of the
// send in a fixed ring), and the receiver reports when each arrived
// (Estimator.Feedback). From those reports come three signals, as in Google
// Congestion Control (draft-ietf-rmcat-gcc): the delay trend (a queue building on
// the path: delay.go), the loss, and the rate that arrived. Nothing runs per packet
// but the stamp: no interceptor wraps the connection's writes, and the server never
// paces, since it never sends more than the estimate allows: it chooses layers
// (package alloc).
//
// While the path is congested (delay overuse, or loss over 10%) the estimate falls
// to what arrived, backed off: the lesser of backoff times the rate the receiver
// measured and backoff times what was sent (Sent) less the loss. Once there has been
// no congestion for holdAfterCongestion, the estimate doubles every second
// (growthPerSecond), as GCC's start-up probes and TCP's slow start do, up to Max,
// while the loss stays under 2% (between 2% and 10% it holds, as GCC's loss
// controller does), and falls back at the next sign of congestion. GCC's own
// additive rise (8% a second after a fall) would take half a minute to find again
// the room a congestion took away.
//
// The rise is the probe. The estimate matters only through the layers the allocator
// (package alloc) chooses with it, so the traffic grows in steps of whole layers: each
// step up is sent as the probe of the next rate, and the delay trend and the loss
// watch it. Probing with padding or RTX bursts, as GCC's prober does, would need a
// paced sender and would spend the subscriber's bandwidth on bytes it does not use;
// a layer probe costs nothing when it succeeds, and when it fails the estimate falls
// back within a feedback interval and the layer goes back down at its next
// allocation. This brings a subscriber from a few hundred kbit/s back to two top
// layers (a few Mbit/s) in about five seconds.
//
// Feedback costs the server more than the packets it reports on: each feedback
// datagram crosses five goroutines on its way in, and a browser sends one every 50 to
// 100 ms for as long as stamped packets arrive. So while the estimate does not limit
// what the connection is sent, with room to spare (its allocator says so: SetAmple),
// and there has been no congestion for sparseAfterCongestion, only the packets of
// one window of sparseWindow in every sparsePeriod are stamped (Measures): the
// receiver, with nothing new to report, sends no feedback in between, and the
// connection's feedback falls to a fifth or less. A congestion is then heard of up to
// sparsePeriod later; from then on every packet is stamped again.
package bwe

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Bounds and start of every estimate, bits a second.
const (
	Initial = 2_500_000
	Min     = 100_000
	Max     = 20_000_000
)

// Tuning of the estimate (see the package comment).
const (
	holdAfterCongestion = time.Second
	growthPerSecond     = 1.0 // doubles a second
	lossCongestion      = 0.1
	lossGrowth          = 0.02 // as GCC's loss controller: between the two, hold
	backoff             = 0.85 // of the rate that arrived, as GCC's delay controller
	sentInterval        = 250 * time.Millisecond
	updateInterval      = 200 * time.Millisecond
	minRateMicros       = 100_000 // arrivals spanning less than this measure no rate

	// Measurement windows (see the package comment).
	sparseAfterCongestion = 2 * time.Second
	sparsePeriod          = int64(500 * time.Millisecond)
	sparseWindow          = int64(100 * time.Millisecond)
)

// Configure offers the TWCC header extension, for audio and video, on the
// connections of media engine m: the receiver then reports when each stamped packet
// arrived (the codecs offer the transport-cc feedback).
func Configure(m *webrtc.MediaEngine) error {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return err
		}
	}
	return nil
}

// Estimator is one connection's bandwidth estimate. It is safe for concurrent use.
type Estimator struct {
	startNanos int64 // unix nanoseconds: the origin of the send history's times

	// sparse is whether only the packets of measurement windows are stamped
	// (Measures); set by update.
	sparse atomic.Bool
	// sendMu guards the send history: every packet sent takes it (Stamp).
	sendMu  sync.Mutex
	nextSeq uint16
	sends   *[historySize]sendRecord // nil until the first stamp

	mu sync.Mutex // guards what follows
	// The feedback's state (twcc.go): the reference time unwrapped, and a buffer
	// of one report's packets.
	haveRef bool
	lastRef uint32
	refBase int64
	results []packetResult
	delay   delayDetector

	// Signals since the last update: whether the delay trend said overuse, packets
	// reported and lost, and the bytes received between the first and the last
	// arrival reported.
	overused                bool
	reported, lost          int
	recvBytes               int
	firstArrive, lastArrive int64
	haveArrive              bool

	estimate    float64
	ample       bool      // SetAmple
	last        time.Time // of the last update
	congestedAt time.Time

	// sentTotal is the bytes sent in all as of sentAt; sentRate the rate they were
	// sent at over the interval before (bits a second).
	sentTotal uint64
	sentAt    time.Time
	sentRate  float64
}

// New returns the estimator of a connection starting now.
func New() *Estimator { return newEstimator(time.Now()) }

func newEstimator(now time.Time) *Estimator {
	return &Estimator{startNanos: now.UnixNano(), estimate: Initial, last: now, delay: newDelayDetector()}
}

// Estimate is the bandwidth the connection has now, in bits a second.
func (e *Estimator) Estimate() uint64 {
	return e.update(time.Now())
}

// Sent tells the estimator how many bytes of RTP the connection has sent so far, in
// all; its caller calls it every few hundred milliseconds. A total that went down
// (a stream no longer counted) starts the count again.
func (e *Estimator) Sent(total uint64) { e.sent(total, time.Now()) }

func (e *Estimator) sent(total uint64, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	dt := now.Sub(e.sentAt)
	switch {
	case e.sentAt.IsZero() || total < e.sentTotal:
		e.sentRate = 0
	case dt < sentInterval:
		return
	default:
		e.sentRate = float64(total-e.sentTotal) * 8 / dt.Seconds()
	}
	e.sentTotal, e.sentAt = total, now
}

// SetAmple tells the estimator whether the estimate limits what its connection is
// sent: ample when what is sent would still fit with a third less, and nothing is
// held back for want of bandwidth. While it is ample and there has been no recent
// congestion, only measurement windows are stamped (see the package comment).
func (e *Estimator) SetAmple(ample bool) { e.setAmple(ample, time.Now()) }

func (e *Estimator) setAmple(ample bool, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ample = ample
	e.measureLocked(now)
}

// measureLocked decides whether every packet is stamped, or only the measurement
// windows'. e.mu is held.
func (e *Estimator) measureLocked(now time.Time) {
	e.sparse.Store(e.ample && now.Sub(e.congestedAt) >= sparseAfterCongestion)
}

// observeLocked takes one feedback's packets, in the order they were sent, into the
// signals. e.mu is held.
func (e *Estimator) observeLocked(results []packetResult, _ time.Time) {
	for _, r := range results {
		e.reported++
		if !r.received {
			e.lost++
			continue
		}
		if e.delay.packet(r.sent, r.arrived) == usageOver {
			e.overused = true
		}
		if !e.haveArrive {
			e.haveArrive, e.firstArrive, e.lastArrive = true, r.arrived, r.arrived
			continue // the first arrival opens the interval: its bytes came before it
		}
		e.firstArrive = min(e.firstArrive, r.arrived)
		e.lastArrive = max(e.lastArrive, r.arrived)
		e.recvBytes += r.size
	}
}

// update moves the estimate to now, from the signals since the last update, and
// returns it. Updates are at least updateInterval apart: the signals are read over
// that long at least (callers may ask far more often).
func (e *Estimator) update(now time.Time) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.Sub(e.last) < updateInterval {
		return uint64(e.estimate)
	}
	dt := now.Sub(e.last).Seconds()
	e.last = now
	loss := 0.0
	if e.reported > 0 {
		loss = float64(e.lost) / float64(e.reported)
	}
	switch {
	case e.overused || loss > lossCongestion:
		e.congestedAt = now
		arrived := backoff * e.sentRate * (1 - loss)
		if span := e.lastArrive - e.firstArrive; e.haveArrive && span >= minRateMicros {
			received := float64(e.recvBytes) * 8 / (float64(span) / 1e6)
			if e.sentRate == 0 || received < arrived/backoff {
				arrived = backoff * received
			}
		}
		e.estimate = min(e.estimate, arrived)
	case loss < lossGrowth && now.Sub(e.congestedAt) >= holdAfterCongestion:
		e.estimate *= math.Pow(1+growthPerSecond, dt)
	}
	e.estimate = min(max(e.estimate, Min), Max)
	e.measureLocked(now)
	e.overused, e.reported, e.lost = false, 0, 0
	e.recvBytes, e.haveArrive = 0, false
	return uint64(e.estimate)
}
