package bench

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// histogram counts durations in buckets of histogramStep up to histogramMax, and
// above. Add is safe for concurrent use and allocates nothing.
type histogram struct {
	buckets [histogramBuckets + 1]atomic.Uint64
}

const (
	histogramStep    = 50 * time.Microsecond
	histogramMax     = 2 * time.Second
	histogramBuckets = int(histogramMax / histogramStep)
)

func (h *histogram) add(d time.Duration) {
	i := int(d / histogramStep)
	if i < 0 {
		i = 0
	}
	if i > histogramBuckets {
		i = histogramBuckets
	}
	h.buckets[i].Add(1)
}

// count is how many durations were added.
func (h *histogram) count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// quantile is the duration below which a fraction q of the added ones fall: the upper
// edge of its bucket. Zero when empty.
func (h *histogram) quantile(q float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return time.Duration(i+1) * histogramStep
		}
	}
	return histogramMax
}

// recorder gathers what every receiver measures.
type recorder struct {
	measuring atomic.Bool // inside the measurement window

	latency histogram
	packets atomic.Uint64 // received in the window
	bytes   atomic.Uint64
	expect  atomic.Uint64 // sent in the window, by the counters seen

	mu            sync.Mutex
	firstPacket   []time.Duration // time to first packet, one per receiving peer
	firstKeyframe []time.Duration // time to the first video keyframe, one per receiving peer
}

// firstPacketAfter records a receiving peer's time to first packet.
func (r *recorder) firstPacketAfter(d time.Duration) {
	r.mu.Lock()
	r.firstPacket = append(r.firstPacket, d)
	r.mu.Unlock()
}

// firstKeyframeAfter records a receiving peer's time to its first video keyframe:
// the first picture it can show.
func (r *recorder) firstKeyframeAfter(d time.Duration) {
	r.mu.Lock()
	r.firstKeyframe = append(r.firstKeyframe, d)
	r.mu.Unlock()
}

// trackCounter follows one received track's stamps within the window: how many
// packets its counters say were sent and how many arrived. One goroutine uses it.
type trackCounter struct {
	started     bool
	first, last uint64
	received    uint64
}

// see records a packet with counter n; it reports packets the window expected beyond
// those already counted, so the recorder's total can grow as the window goes.
func (t *trackCounter) see(n uint64) (newlyExpected uint64) {
	t.received++
	if !t.started {
		t.started, t.first, t.last = true, n, n
		return 1
	}
	if n <= t.last {
		return 0 // a retransmission or reordering: counted in received already
	}
	d := n - t.last
	t.last = n
	return d
}
