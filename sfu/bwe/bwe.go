// Package bwe estimates, per subscriber connection, the bandwidth the server may
// send at: transport-wide congestion control (TWCC) feedback from the subscriber
// feeds Pion's Google Congestion Control estimator (pion/interceptor/pkg/gcc).
//
// GCC runs without its leaky-bucket pacer (directPacer sends at once): that pacer
// copies every packet into a queue of its own and sends it from its own goroutine,
// which would add a copy and a delay to every forwarded packet and take the fan-out
// off the batched sends of the shared UDP port. The server instead never sends more than
// the estimate allows, by choosing layers (package alloc).
//
// GCC's own target never rises above 1.5 times what it sees arrive, and after a
// fall it rises by 8% a second (its delay controller) at best, so an SFU that sends
// only what the estimate allows would take half a minute to find again the room a
// congestion took away, and would never try a larger layer at all. [Estimator]
// therefore takes GCC's target as the estimate only while GCC sees congestion (delay
// overuse, or loss over 10%), and then no lower than what arrived, backed off: the
// lesser of backoff times what was sent (Sent) less the loss, and GCC's delay-based
// target (in overuse, backoff times the rate the receiver measured). The loss
// average lags at the onset of congestion, and the delay-based target may run ahead
// of a link that drops rather than queues; each bounds the other. GCC's loss-based
// target halves with each report of heavy loss, so a link that narrows from a few
// Mbit/s to a few hundred kbit/s would otherwise leave an estimate of its minimum,
// under even the lowest layer, where the link carries the lowest layer well. Once
// there has been no congestion for holdAfterCongestion, the estimate doubles every
// second (growthPerSecond), as GCC's own start-up probes and TCP's slow start do, up
// to Max, while the loss stays under 2% (between 2% and 10% it holds, as GCC's loss
// controller does), and falls back at the next sign of congestion.
//
// The rise is the probe. The estimate matters only through the layers the allocator
// (package alloc) chooses with it, so the traffic grows in steps of whole layers: each
// step up is sent as the probe of the next rate, and congestion control watches its
// delay and loss. Probing with padding or RTX bursts, as GCC's prober does, would
// need a paced sender and would spend the subscriber's bandwidth on bytes it does not
// use; a layer probe costs nothing when it succeeds, and when it fails the estimate
// falls back within a feedback interval and the layer goes back down at its next
// allocation. A fast rise bounded by congestion signals rather than by a multiple of
// GCC's target brings a subscriber from a few hundred kbit/s back to two top layers
// (a few Mbit/s) in about five seconds; the 15%/s rise capped at three times GCC's
// target it replaces took twenty.
package bwe

import (
	"math"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/webrtc/v4"
)

// Bounds and start of every estimate, bits a second.
const (
	Initial = 2_500_000
	Min     = 100_000
	Max     = 20_000_000
)

// Tuning of the rise after congestion (see the package comment).
const (
	holdAfterCongestion = time.Second
	growthPerSecond     = 1.0 // doubles a second
	lossCongestion      = 0.1
	lossGrowth          = 0.02 // as GCC's loss controller: between the two, hold
	backoff             = 0.85 // of the rate that arrived, as GCC's delay controller
	sentInterval        = 250 * time.Millisecond
)

// Registry makes the estimators of the connections of one Pion API and finds
// each by its connection's id.
type Registry struct {
	mu   sync.Mutex
	byID map[string]*Estimator
}

// Register adds TWCC (the header extension on every packet sent, and GCC reading
// the feedback) to a sending connection's media engine and interceptors, and
// returns the registry of the estimators its connections get.
func Register(m *webrtc.MediaEngine, r *interceptor.Registry) (*Registry, error) {
	reg := &Registry{byID: map[string]*Estimator{}}
	factory, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEPacer(newDirectPacer()),
			gcc.SendSideBWEInitialBitrate(Initial), gcc.SendSideBWEMinBitrate(Min), gcc.SendSideBWEMaxBitrate(Max))
	})
	if err != nil {
		return nil, err
	}
	factory.OnNewPeerConnection(func(id string, e cc.BandwidthEstimator) {
		reg.mu.Lock()
		reg.byID[id] = newEstimator(e, time.Now())
		reg.mu.Unlock()
	})
	r.Add(factory)
	return reg, webrtc.ConfigureTWCCHeaderExtensionSender(m, r)
}

// Take returns the estimator of the connection with id (webrtc.PeerConnection.ID)
// and forgets it; nil when there is none.
func (r *Registry) Take(id string) *Estimator {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byID[id]
	delete(r.byID, id)
	return e
}

// source is what an Estimator reads of GCC.
type source interface {
	GetTargetBitrate() int
	GetStats() map[string]any
}

// Estimator is one connection's bandwidth estimate. It is safe for concurrent use.
type Estimator struct {
	gcc source

	mu          sync.Mutex
	estimate    float64
	last        time.Time // of the last update
	congestedAt time.Time

	// sentTotal is the bytes sent in all as of sentAt; sentRate the rate they were
	// sent at over the interval before (bits a second).
	sentTotal uint64
	sentAt    time.Time
	sentRate  float64
}

func newEstimator(s source, now time.Time) *Estimator {
	return &Estimator{gcc: s, estimate: Initial, last: now}
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

// update moves the estimate to now and returns it.
func (e *Estimator) update(now time.Time) uint64 {
	target := float64(e.gcc.GetTargetBitrate())
	stats := e.gcc.GetStats()
	usage, _ := stats["usage"].(string)
	loss, _ := stats["averageLoss"].(float64)
	delayTarget, _ := stats["delayTargetBitrate"].(int)
	e.mu.Lock()
	defer e.mu.Unlock()
	dt := max(now.Sub(e.last).Seconds(), 0)
	e.last = now
	switch {
	case usage == "overuse" || loss > lossCongestion:
		e.congestedAt = now
		arrived := min(backoff*e.sentRate*(1-min(max(loss, 0), 1)), float64(delayTarget))
		e.estimate = min(e.estimate, max(target, arrived))
	case loss < lossGrowth && now.Sub(e.congestedAt) >= holdAfterCongestion:
		e.estimate *= math.Pow(1+growthPerSecond, dt)
	}
	e.estimate = min(max(e.estimate, target, Min), Max)
	return uint64(e.estimate)
}
