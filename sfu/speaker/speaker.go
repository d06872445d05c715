// Package speaker picks a room's active speakers from the audio levels its
// participants' tracks carry (RFC 6464: each packet's level in -dBov, 0 the loudest,
// 127 silence).
//
// A Detector is fed, once per tick, each participant's mean loudness over the tick;
// it smooths the levels, applies hysteresis (a participant starts speaking above one
// threshold and stops below a lower one; the loudest keeps the floor unless another
// is clearly louder) and reports the ranking when it changes, at most once per
// report interval. It keeps no clock of its own: every call is given the time, so
// it is deterministic under test. It is not safe for concurrent use: the room's
// operation queue owns it.
package speaker

import (
	"slices"
	"time"
)

// Silence is the loudness of a tick without a packet or of a muted microphone:
// loudness is 127 minus the RFC 6464 level, so 0 is -127 dBov and 127 is 0 dBov.
const Silence = 0

// Loudness converts an RFC 6464 level (the 7 low bits of the extension's byte, in
// -dBov) into the loudness a Detector takes.
func Loudness(level uint8) float64 { return float64(127 - min(level, 127)) }

// Config tunes a Detector. The zero value takes the defaults.
type Config struct {
	// Smoothing is the weight of a new tick's loudness in the smoothed level
	// (an exponential moving average): default 0.5, which with a 200 ms tick
	// follows speech onsets within two ticks and ignores one loud click.
	Smoothing float64
	// Start is the smoothed loudness above which a participant starts speaking,
	// Stop the one below which it stops: default 77 and 67 (-50 and -60 dBov),
	// speech against the background noise of a microphone with its browser's noise
	// suppression.
	Start, Stop float64
	// Margin is how much louder than the loudest speaker another must be to take
	// the first place: default 6 (dB), so that two people talking over each other
	// do not flip the order every tick.
	Margin float64
	// Interval is the least time between two reports: default 500 ms.
	Interval time.Duration
}

func (c Config) withDefaults() Config {
	if c.Smoothing <= 0 || c.Smoothing > 1 {
		c.Smoothing = 0.5
	}
	if c.Start <= 0 {
		c.Start = 77
	}
	if c.Stop <= 0 || c.Stop > c.Start {
		c.Stop = min(67, c.Start)
	}
	if c.Margin <= 0 {
		c.Margin = 6
	}
	if c.Interval <= 0 {
		c.Interval = 500 * time.Millisecond
	}
	return c
}

// Detector ranks the speakers among participants identified by K.
type Detector[K comparable] struct {
	cfg   Config
	state map[K]*entry
	seen  map[K]bool // observed since the last tick

	ranking  []K        // the speakers now, loudest first
	reported []K        // the ranking last reported
	lastSent time.Time  // when it was
	floor    map[K]bool // Loudest's last answer, which keeps its place in ties
}

type entry struct {
	level      float64   // smoothed loudness
	speaking   bool      // above Start, not yet below Stop
	lastActive time.Time // when it last spoke
}

// New returns a Detector with cfg (the zero value: the defaults).
func New[K comparable](cfg Config) *Detector[K] {
	return &Detector[K]{cfg: cfg.withDefaults(), state: map[K]*entry{}, seen: map[K]bool{}, floor: map[K]bool{}}
}

// Observe gives id's mean loudness over the tick that ends now (Silence when it
// sent nothing). A participant not observed in a tick is forgotten at its end.
func (d *Detector[K]) Observe(id K, loudness float64) {
	e := d.state[id]
	if e == nil {
		e = &entry{}
		d.state[id] = e
	}
	if d.seen[id] {
		loudness = max(loudness, e.level) // a second track of the same participant
	}
	e.level += d.cfg.Smoothing * (loudness - e.level)
	d.seen[id] = true
}

// Tick ends a tick at now: it forgets those not observed, updates who speaks and
// ranks them. It returns the ranking to report, loudest first, and true when it
// differs from the last one reported and the report interval has passed since; a
// change inside the interval is returned by the first tick after it.
func (d *Detector[K]) Tick(now time.Time) ([]K, bool) {
	for id, e := range d.state {
		if !d.seen[id] {
			delete(d.state, id)
			continue
		}
		switch {
		case !e.speaking && e.level >= d.cfg.Start:
			e.speaking = true
		case e.speaking && e.level < d.cfg.Stop:
			e.speaking = false
		}
		if e.speaking {
			e.lastActive = now
		}
	}
	clear(d.seen)
	d.rank()
	if slices.Equal(d.ranking, d.reported) || now.Sub(d.lastSent) < d.cfg.Interval {
		return nil, false
	}
	d.reported = slices.Clone(d.ranking)
	d.lastSent = now
	return slices.Clone(d.ranking), true
}

// rank orders the speakers by smoothed loudness, those of the last ranking first
// in ties; the first of the last ranking keeps its place unless another is Margin
// louder.
func (d *Detector[K]) rank() {
	prev := d.ranking
	next := make([]K, 0, len(d.state))
	for _, id := range prev {
		if e := d.state[id]; e != nil && e.speaking {
			next = append(next, id)
		}
	}
	for id, e := range d.state {
		if e.speaking && !slices.Contains(prev, id) {
			next = append(next, id)
		}
	}
	slices.SortStableFunc(next, func(a, b K) int { return compareLevels(d.state[b].level, d.state[a].level) })
	d.ranking = next
	if len(prev) == 0 || len(next) < 2 || next[0] == prev[0] {
		return
	}
	first := prev[0]
	i := slices.Index(next, first)
	if i > 0 && d.state[next[0]].level < d.state[first].level+d.cfg.Margin {
		copy(next[1:i+1], next[:i])
		next[0] = first
	}
}

func compareLevels(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Loudest is up to n participants to give the floor to: those speaking, loudest
// first, then those who spoke most recently; among those who spoke at the same time
// (or never), those of its last answer keep their place, so that the floor does not
// move among the silent, then the louder.
func (d *Detector[K]) Loudest(n int) []K {
	out := make([]K, 0, len(d.state))
	out = append(out, d.ranking...)
	rest := make([]K, 0, len(d.state))
	for id, e := range d.state {
		if !e.speaking {
			rest = append(rest, id)
		}
	}
	slices.SortFunc(rest, func(a, b K) int {
		ea, eb := d.state[a], d.state[b]
		if c := eb.lastActive.Compare(ea.lastActive); c != 0 {
			return c
		}
		switch {
		case d.floor[a] && !d.floor[b]:
			return -1
		case d.floor[b] && !d.floor[a]:
			return 1
		}
		return compareLevels(eb.level, ea.level)
	})
	out = append(out, rest...)
	out = out[:min(n, len(out))]
	clear(d.floor)
	for _, id := range out {
		d.floor[id] = true
	}
	return out
}
