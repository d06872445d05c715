// Package vp8 reads what the server, its client and its bench need of a VP8 RTP
// payload: the size of its payload descriptor (RFC 7741 section 4.2), whether it
// starts a keyframe, and a keyframe's frame size (RFC 6386 section 9.1). It allocates
// nothing and never reads past the payload: a payload too short for what it claims
// is reported as not matching.
package vp8

import "encoding/binary"

// DescriptorSize is the size of the payload descriptor p starts with; ok is false
// when p is too short to hold the descriptor it announces.
func DescriptorSize(p []byte) (n int, ok bool) {
	if len(p) == 0 {
		return 0, false
	}
	n = 1
	if p[0]&0x80 == 0 { // no extension byte
		return n, true
	}
	if len(p) < 2 {
		return 0, false
	}
	x := p[1]
	n = 2
	if x&0x80 != 0 { // PictureID, one or two bytes
		if len(p) <= n {
			return 0, false
		}
		if p[n]&0x80 != 0 {
			n++
		}
		n++
	}
	if x&0x40 != 0 { // TL0PICIDX
		n++
	}
	if x&0x30 != 0 { // TID/Y/KEYIDX
		n++
	}
	if len(p) < n {
		return 0, false
	}
	return n, true
}

// IsKeyframe reports whether p starts a keyframe: the start of partition 0 (S set,
// PID 0) whose frame tag has the P bit clear.
func IsKeyframe(p []byte) bool {
	if len(p) == 0 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
		return false
	}
	n, ok := DescriptorSize(p)
	return ok && len(p) > n && p[n]&0x01 == 0
}

// FrameSize is the width and height a keyframe's header gives (its frame tag, the
// start code 9d 01 2a, then 14 bits each); ok is false for anything else.
func FrameSize(p []byte) (width, height int, ok bool) {
	n, ok := DescriptorSize(p)
	if !ok || len(p) < n+10 || p[n]&0x01 != 0 || p[n+3] != 0x9d || p[n+4] != 0x01 || p[n+5] != 0x2a {
		return 0, 0, false
	}
	width = int(binary.LittleEndian.Uint16(p[n+6:]) & 0x3fff)
	height = int(binary.LittleEndian.Uint16(p[n+8:]) & 0x3fff)
	return width, height, width > 0 && height > 0
}
