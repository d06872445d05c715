// Package alloc shares one subscriber's estimated bandwidth over the tracks it
// receives: which layer of each track it is forwarded, or none.
//
// The order of need is fixed: audio first (always forwarded), then screen shares,
// then cameras; among videos of one kind, larger tiles first, and of tiles alike,
// one forwarded now first, else in the order given. Each visible video
// first gets its lowest layer, in that order, as long as the estimate has room; a
// video that does not fit even at its lowest layer is paused. What is left then
// raises each video, in the same order, towards the layer its tile needs, never
// past it. A layer a video is forwarded now (or one below it) is kept while it
// takes up to keepSlack times the room left: an estimate that dips for a moment,
// or that congestion control set just under what is sent, does not flap layers.
//
// The subscriber keeps a picture: while the estimate has room for the lowest layer
// of one video and the audio, some video plays, and it is the most important one
// (the first in the order of need). That one also keeps its lowest layer, once
// forwarded and when it has several (a lowest layer is small by design; a track's
// only layer may be anything), while that layer takes up to pictureSlack times the
// whole estimate, the audio's share included: congestion control backs off to under
// what arrives (85% of it: sfu/bwe), so on a link just wide enough for one
// lowest layer and the audio the estimate dips well under their sum for a second or
// two after each sign of congestion, and pausing the last picture for each dip would
// stall it.
//
// The package is pure: it knows nothing of RTP or of the media core's types, and
// its caller runs it on the subscriber's own goroutine.
package alloc

import (
	"cmp"
	"math"
	"slices"
)

// Kind is what a track carries, in the order of need.
type Kind int

const (
	Audio Kind = iota
	Screen
	Camera
)

// Layer is one layer of a track: what it arrives at, and its frame size. Zero
// values are unknown (nominal ones are used).
type Layer struct {
	Bitrate       uint64 // bits a second
	Width, Height int
}

// View is how the subscriber shows a track: its tile in device pixels (0 x 0:
// unknown, taken as large), or not at all.
type View struct {
	Width, Height int
	Hidden        bool
}

// Track is one track the subscriber receives.
type Track struct {
	Kind   Kind
	Layers []Layer // lowest quality first; one for a track of one layer
	View   View
	Muted  bool // its publisher or an administrator stopped it
	// Current is the layer forwarded now, Paused for none.
	Current int
}

// Reason says why a track is paused.
type Reason int

const (
	None Reason = iota
	Bandwidth
	Hidden
	Muted
)

// Decision is what a track is forwarded: Layer, or nothing (Layer -1) for Reason.
type Decision struct {
	Layer  int
	Reason Reason
}

// Paused is the layer of a paused decision.
const Paused = -1

// Unlimited is an estimate with room for everything.
const Unlimited = math.MaxUint64

// keepSlack is how far over the room left a layer already forwarded may go and be
// kept; pictureSlack how far over the whole estimate the most important video's
// lowest layer may go (see the package comment).
const (
	keepSlack    = 1.25
	pictureSlack = 2
)

// Nominal bitrates, for layers not measured yet (a layer the publisher has not sent,
// or not for a while): the protocol's suggested encodings, and a typical voice.
const (
	nominalAudio  = 64_000
	nominalTop    = 1_500_000
	nominalHalf   = 500_000
	nominalQuart  = 150_000
	defaultWidth  = 1280
	defaultHeight = 720
)

// Allocate decides each track's layer for estimate bits a second. The decisions
// are in the order of tracks.
func Allocate(estimate uint64, tracks []Track) []Decision {
	out := make([]Decision, len(tracks))
	left := estimate
	spend := func(b uint64) {
		if left != Unlimited {
			left -= min(left, b)
		}
	}
	var videos []int
	for i, t := range tracks {
		switch {
		case t.Muted:
			out[i] = Decision{Layer: Paused, Reason: Muted}
		case t.Kind == Audio:
			out[i] = Decision{Layer: len(t.Layers) - 1}
			spend(bitrate(t, len(t.Layers)-1))
		case t.View.Hidden:
			out[i] = Decision{Layer: Paused, Reason: Hidden}
		default:
			videos = append(videos, i)
		}
	}
	slices.SortStableFunc(videos, func(a, b int) int { return byNeed(tracks[a], tracks[b]) })
	fits := func(t Track, l int, b uint64) bool {
		if left == Unlimited || b <= left {
			return true
		}
		return t.Current != Paused && l <= t.Current && float64(b) <= keepSlack*float64(left)
	}
	for n, i := range videos {
		b := bitrate(tracks[i], 0)
		if fits(tracks[i], 0, b) || n == 0 && keepsPicture(tracks[i], b, estimate) {
			out[i] = Decision{Layer: 0}
			spend(b)
		} else {
			out[i] = Decision{Layer: Paused, Reason: Bandwidth}
		}
	}
	for _, i := range videos {
		if out[i].Layer == Paused {
			continue
		}
		t := tracks[i]
		for l := 1; l <= wanted(t); l++ {
			more := bitrate(t, l) - min(bitrate(t, l), bitrate(t, out[i].Layer))
			if !fits(t, l, more) {
				break
			}
			spend(more)
			out[i].Layer = l
		}
	}
	return out
}

// Ample reports whether estimate leaves room to spare for tracks: with a third less,
// each would still get what it gets without any limit. The bandwidth estimator may
// then measure less often (package bwe, Estimator.SetAmple).
func Ample(estimate uint64, tracks []Track) bool {
	return slices.Equal(Allocate(estimate/3*2, tracks), Allocate(Unlimited, tracks))
}

// keepsPicture reports whether t, the most important video, keeps its lowest layer
// of bitrate b though the room left does not fit it (see the package comment).
func keepsPicture(t Track, b, estimate uint64) bool {
	return t.Current != Paused && len(t.Layers) > 1 && float64(b) <= pictureSlack*float64(estimate)
}

// byNeed orders videos: screen shares before cameras, then larger tiles first, then
// one forwarded now before one paused (of two alike, the one that plays keeps
// playing, and the other is not resumed in its place).
func byNeed(a, b Track) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := cmp.Compare(area(b.View), area(a.View)); c != 0 {
		return c
	}
	return cmp.Compare(pausedRank(a), pausedRank(b))
}

// pausedRank is 1 for a video paused now, 0 for one forwarded.
func pausedRank(t Track) int {
	if t.Current == Paused {
		return 1
	}
	return 0
}

// area is a tile's size in pixels; an unknown one counts as the largest.
func area(v View) int {
	if v.Width <= 0 || v.Height <= 0 {
		return math.MaxInt
	}
	return v.Width * v.Height
}

// wanted is the lowest layer of t whose frames fill its tile (as wide or as high,
// the picture being scaled to fit); the top layer when none does or the tile is
// unknown.
func wanted(t Track) int {
	top := len(t.Layers) - 1
	if t.View.Width <= 0 || t.View.Height <= 0 {
		return top
	}
	for l := range top {
		w, h := size(t, l)
		if w >= t.View.Width || h >= t.View.Height {
			return l
		}
	}
	return top
}

// size is layer l's frame size: measured, else the top layer's (measured, or
// 1280x720) scaled down by two for each layer below it.
func size(t Track, l int) (int, int) {
	if s := t.Layers[l]; s.Width > 0 && s.Height > 0 {
		return s.Width, s.Height
	}
	top := len(t.Layers) - 1
	w, h := t.Layers[top].Width, t.Layers[top].Height
	if w <= 0 || h <= 0 {
		w, h = defaultWidth, defaultHeight
	}
	return w >> (top - l), h >> (top - l)
}

// bitrate is what layer l of t takes: measured, else nominal.
func bitrate(t Track, l int) uint64 {
	if b := t.Layers[l].Bitrate; b > 0 {
		return b
	}
	if t.Kind == Audio {
		return nominalAudio
	}
	switch len(t.Layers) - 1 - l {
	case 0:
		return nominalTop
	case 1:
		return nominalHalf
	default:
		return nominalQuart
	}
}
