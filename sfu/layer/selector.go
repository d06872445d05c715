package layer

import "sync/atomic"

// None is the layer of a Selector that forwards nothing: before the first keyframe
// and while paused.
const None = -1

// Selector is the layer one down-track forwards (Current) and the one it should
// (Target). Layers are numbered from 0, the lowest quality. The zero value forwards
// layer 0 and targets it: a track of one layer needs nothing more.
//
// Its methods are called under the down-track's lock, but for Ignores.
type Selector struct {
	current, target int
	// ignored has bit l set when packets of layer l are neither forwarded nor
	// awaited; 0 (the zero value) ignores none.
	ignored atomic.Uint32
}

// Ignores reports whether a packet of layer l would be refused by Accept whatever
// it holds, so that a forward loop may skip it without the down-track's lock. It
// is safe to call concurrently with the other methods: a packet that crosses a
// change of layer is judged by the selector before or after it.
func (s *Selector) Ignores(l int) bool {
	return l >= 0 && l < 32 && s.ignored.Load()&(1<<l) != 0
}

// changed recomputes what Ignores reads after current or target moved.
func (s *Selector) changed() {
	var wanted uint32
	for _, l := range [2]int{s.current, s.target} {
		if l >= 0 && l < 32 {
			wanted |= 1 << l
		}
	}
	s.ignored.Store(^wanted)
}

// Current is the layer forwarded now, None when nothing is.
func (s *Selector) Current() int { return s.current }

// Target is the layer wanted, None for a pause.
func (s *Selector) Target() int { return s.target }

// SetTarget sets the layer wanted (None: pause), and reports whether the caller must
// ask the publisher for a keyframe of it: the target differs from what is forwarded.
// A pause takes effect at once; another layer at its next keyframe.
func (s *Selector) SetTarget(l int) (needKeyframe bool) {
	s.target = l
	if l == None {
		s.current = None
	}
	s.changed()
	return l != None && l != s.current
}

// Start makes l the layer forwarded at once, as when a down-track starts from a
// cached keyframe of l (the caller waits for that keyframe).
func (s *Selector) Start(l int) {
	s.current = l
	s.changed()
}

// Accept reports whether a packet of layer l is forwarded, keyframe telling whether
// it starts a keyframe, and whether it is the first of a new layer (the caller
// rebases its numbering there). Until the target's keyframe arrives the current
// layer goes on being forwarded, so the picture never stops for a switch.
func (s *Selector) Accept(l int, keyframe bool) (forward, switched bool) {
	if l == s.current {
		return true, false
	}
	if l == s.target && keyframe {
		s.current = l
		s.changed()
		return true, true
	}
	return false, false
}

// Switching reports whether the selector waits for a keyframe of layer l, its
// target: only then does a caller need to test packets of l for one.
func (s *Selector) Switching(l int) bool { return l == s.target && l != s.current }
