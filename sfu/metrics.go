package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// What the media core counts, for metrics. The forward loop adds to atomics of its
// own published Track (never to a map, and never under a lock shared with other
// tracks); Engine.Stats sums the live tracks at the time it is called, plus what the
// tracks that ended had counted. Counts only grow.

// DropReason is why a packet was not forwarded or resent.
type DropReason int

// The reasons a packet is dropped.
const (
	// DropNoKeyframe: a subscriber's down-track waits for a keyframe (a new
	// subscriber, a change of source, a track unmuted) and the packet is not one.
	DropNoKeyframe DropReason = iota
	// DropMuted: an administrator muted the track; counted once per packet read.
	DropMuted
	// DropWriteFailed: writing to the subscriber's connection failed.
	DropWriteFailed
	// DropNACKBudget: a NACKed packet not resent, the subscriber being over its
	// retransmission budget.
	DropNACKBudget
	// DropNotCached: a NACKed packet no longer in the track's packet cache.
	DropNotCached
	// DropNotLoudest: an audio packet of a participant not among the loudest of a
	// large room (Limits.MaxAudioForward).
	DropNotLoudest
	// NumDropReasons is the number of reasons, for arrays indexed by them.
	NumDropReasons
)

var dropReasonNames = [NumDropReasons]string{"no_keyframe", "muted", "write_failed", "nack_budget", "not_cached", "not_loudest"}

// String is the reason's name as a metric label: lower case, with underscores.
func (r DropReason) String() string {
	if r < 0 || r >= NumDropReasons {
		return "unknown"
	}
	return dropReasonNames[r]
}

// MediaStats are the counters of the tracks of one kind (audio or video).
type MediaStats struct {
	// PacketsIn and BytesIn were read from publishers (RTP packets and their size).
	PacketsIn, BytesIn uint64
	// PacketsOut and BytesOut were written to subscribers and viewers, each copy
	// counted (retransmissions not included).
	PacketsOut, BytesOut uint64
	// Dropped counts the packets not forwarded, or not resent, by reason.
	Dropped [NumDropReasons]uint64
	// NACKs is how many packets subscribers asked to be resent, and Retransmissions
	// how many were.
	NACKs, Retransmissions uint64
	// KeyframeRequests is how many PLIs were sent to publishers.
	KeyframeRequests uint64
	// FastStarts is how many down-tracks started with the cached keyframe instead of
	// waiting for a requested one.
	FastStarts uint64
}

func (s *MediaStats) add(o *MediaStats) {
	s.PacketsIn += o.PacketsIn
	s.BytesIn += o.BytesIn
	s.PacketsOut += o.PacketsOut
	s.BytesOut += o.BytesOut
	for i := range s.Dropped {
		s.Dropped[i] += o.Dropped[i]
	}
	s.NACKs += o.NACKs
	s.Retransmissions += o.Retransmissions
	s.KeyframeRequests += o.KeyframeRequests
	s.FastStarts += o.FastStarts
}

// TrackClass is a kind and a source of published tracks.
type TrackClass struct {
	Kind   webrtc.RTPCodecType
	Source Source
}

// Stats is what Engine.Stats reports.
type Stats struct {
	// Audio and Video are the counters of the tracks of each kind since the engine
	// started.
	Audio, Video MediaStats
	// Tracks counts the tracks published now, by class.
	Tracks map[TrackClass]int
}

// trackCounters are one Track's counters for metrics. The forward loop and the
// down-tracks' RTCP readers add to them; what the track received is counted once,
// by the track itself (Track.forwarded, recvStats.bytes).
type trackCounters struct {
	packetsOut, bytesOut atomic.Uint64
	dropped              [NumDropReasons]atomic.Uint64
	nacks, retransmitted atomic.Uint64
	keyframeRequests     atomic.Uint64
	fastStarts           atomic.Uint64 // down-tracks started from the cached keyframe
}

func (c *trackCounters) drop(r DropReason) { c.dropped[r].Add(1) }

// mediaStats is what the track has counted so far.
func (t *Track) mediaStats() MediaStats {
	c := &t.counters
	s := MediaStats{PacketsIn: t.forwarded.Load(), BytesIn: t.recv.bytes.Load(),
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(),
		NACKs: c.nacks.Load(), Retransmissions: c.retransmitted.Load(), KeyframeRequests: c.keyframeRequests.Load(),
		FastStarts: c.fastStarts.Load()}
	for i := range c.dropped {
		s.Dropped[i] = c.dropped[i].Load()
	}
	return s
}

// trackStats is the engine's record of the tracks it forwards: the live ones, and
// the sums of those that ended.
type trackStats struct {
	mu      sync.Mutex
	live    map[*Track]struct{}
	retired Stats // Tracks unused
}

// started records t as live. e may be nil (tests of the forward path).
func (e *Engine) trackStarted(t *Track) {
	if e == nil {
		return
	}
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	if e.stats.live == nil {
		e.stats.live = map[*Track]struct{}{}
	}
	e.stats.live[t] = struct{}{}
}

// trackEnded folds t's counters into the engine's sums. What t counts after this
// (a retransmission racing its end) is not counted.
func (e *Engine) trackEnded(t *Track) {
	if e == nil {
		return
	}
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	if _, ok := e.stats.live[t]; !ok {
		return
	}
	delete(e.stats.live, t)
	s := t.mediaStats()
	kindStats(&e.stats.retired, t.info.Kind).add(&s)
}

func kindStats(s *Stats, kind webrtc.RTPCodecType) *MediaStats {
	if kind == webrtc.RTPCodecTypeAudio {
		return &s.Audio
	}
	return &s.Video
}

// Stats sums the counters of every track the engine has forwarded, and counts the
// tracks published now. It takes a lock of its own, never one the forward loop takes.
func (e *Engine) Stats() Stats {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	out := e.stats.retired
	out.Tracks = map[TrackClass]int{}
	for t := range e.stats.live {
		s := t.mediaStats()
		kindStats(&out, t.info.Kind).add(&s)
		if t.root == t { // a simulcast layer is part of its root's track
			out.Tracks[TrackClass{Kind: t.info.Kind, Source: t.info.Source}]++
		}
	}
	return out
}

// Timings receives durations the media core measures, for metrics (a histogram
// each). Its methods are called on media and connection goroutines and must return
// quickly without blocking.
type Timings interface {
	// ICEConnected: a participant's connection (side) reached connected, d after it
	// was made.
	ICEConnected(side Side, d time.Duration)
	// FirstMedia: a participant received its first media packet, d after it joined.
	FirstMedia(d time.Duration)
}

// firstMedia notes a participant's first media packet, once.
type firstMedia struct {
	joined  time.Time
	timings Timings // nil: nothing to report
	done    atomic.Bool
}

// mark reports the first call; later calls cost an atomic load.
func (f *firstMedia) mark() {
	if f == nil || f.timings == nil || f.done.Load() || !f.done.CompareAndSwap(false, true) {
		return
	}
	f.timings.FirstMedia(time.Since(f.joined))
}

// Census counts the participants of the rooms in rs now, by transport
// (JoinOptions.Transport, "other" when empty), and the viewers. Each room is asked
// on its operation queue, one after the other.
func (rs *Rooms) Census() (participants map[string]int, viewers int) {
	participants = map[string]int{}
	for _, r := range rs.List() {
		r.ops.do(func() {
			for m := range r.members.All() {
				participants[transportName(m.p.transport)]++
			}
			viewers += len(r.viewers)
		})
	}
	return participants, viewers
}

func transportName(t string) string {
	if t == "" {
		return "other"
	}
	return t
}
