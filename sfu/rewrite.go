package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// rewriter keeps a down-track's sequence numbers and timestamps continuous across a
// change of source. Until the first switch it passes them through unchanged, so a
// subscriber of one track sees the publisher's own numbering.
type rewriter struct {
	seqOffset uint16
	tsOffset  uint32

	sent     bool // a packet has gone out
	lastSeq  uint16
	lastTS   uint32
	firstSeq uint16 // the first sequence number sent from the current source

	rebase     bool      // the next packet written starts the new source
	keepTS     bool      // ...or resumes the same source: timestamps unchanged
	keyframe   bool      // drop packets until a keyframe (video)
	switchedAt time.Time // when the source changed
}

// switched notes a change of source at now; video waits for a keyframe.
func (r *rewriter) switched(now time.Time, video bool) {
	r.rebase = true
	r.keepTS = false
	r.keyframe = video
	r.switchedAt = now
}

// skipped notes that the source, unchanged, went on without the down-track (an audio
// track paused): the next packet continues the sequence, and keeps the source's
// timestamps, whose clock ran on meanwhile. A change of source not yet applied
// stays as it is.
func (r *rewriter) skipped() {
	if !r.rebase {
		r.rebase = true
		r.keepTS = true
	}
}

// sourceSeq maps a sequence number the subscriber received back to the current
// source's, and reports false for numbers sent before the current source or not yet
// sent.
func (r *rewriter) sourceSeq(seq uint16) (uint16, bool) {
	if !r.sent || r.rebase || int16(seq-r.firstSeq) < 0 || int16(r.lastSeq-seq) < 0 {
		return 0, false
	}
	return seq - r.seqOffset, true
}

// waiting reports whether pkt must be dropped because the new source has not sent a
// keyframe yet.
func (r *rewriter) waiting(mime string, pkt *rtp.Packet) bool {
	if !r.keyframe {
		return false
	}
	if !isKeyframe(mime, pkt.Payload) {
		return true
	}
	r.keyframe = false
	return false
}

// rewrite maps h's sequence number and timestamp into the down-track's numbering,
// computing the offsets at the first packet after a switch: the sequence continues
// at the next number, and the timestamp advances by the wall time since the switch
// (at least one tick) so that the receiver's jitter buffer sees time move forward.
func (r *rewriter) rewrite(h *rtp.Header, clock uint32) {
	if r.rebase || !r.sent {
		r.rebase = false
		r.firstSeq = h.SequenceNumber + r.seqOffset
		if r.sent {
			r.seqOffset = r.lastSeq + 1 - h.SequenceNumber
			if !r.keepTS {
				gap := uint32(time.Since(r.switchedAt).Seconds()*float64(clock)) + 1
				r.tsOffset = r.lastTS + gap - h.Timestamp
			}
			r.firstSeq = r.lastSeq + 1
		}
		r.keepTS = false
	}
	h.SequenceNumber += r.seqOffset
	h.Timestamp += r.tsOffset
	r.sent, r.lastSeq, r.lastTS = true, h.SequenceNumber, h.Timestamp
}

// isKeyframe reports whether payload starts a keyframe of codec mime. Codecs it cannot
// parse count every packet as one.
func isKeyframe(mime string, payload []byte) bool {
	if test := keyframeTest(mime); test != nil {
		return test(payload)
	}
	return true
}

// isVP9Keyframe reads the first byte of the VP9 payload descriptor: a packet that
// begins a frame that is not inter-predicted.
func isVP9Keyframe(p []byte) bool {
	return len(p) > 0 && p[0]&0x40 == 0 && p[0]&0x08 != 0
}

// isH264Keyframe looks for an IDR slice or a sequence parameter set in a single NAL
// unit, an aggregation packet (STAP-A) or the first fragment of a unit (FU-A).
func isH264Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch p[0] & 0x1f {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit sizes, each followed by a NAL unit
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A: start bit and the fragmented unit's type
		return len(p) > 1 && p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}
