// Package layer chooses, for one subscriber's copy of a simulcast track, which of the
// publisher's layers it is forwarded, and keeps what it receives one continuous
// stream across a change of layer.
//
// A [Selector] holds the layer forwarded now and the one wanted (a target set by the
// allocator); it moves to the target only at a keyframe of the target layer, so the
// subscriber's decoder never sees a frame that refers to one it did not get. A
// [VP8Munger] rewrites the VP8 payload descriptor's picture id and TL0PICIDX in
// place so that they continue across the switch, as the sequence numbers and
// timestamps do (the caller's rewriter keeps those).
//
// Both are plain values, used under their owner's lock, and allocate nothing.
package layer
