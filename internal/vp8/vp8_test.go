package vp8

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// keyframe is the start of a 640x360 keyframe with a full descriptor: X, S; I, L, T;
// a two-byte picture id, TL0PICIDX, TID/KEYIDX; then the frame tag and header.
var keyframe = []byte{0x90, 0xe0, 0x80, 0x01, 0x07, 0x20, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}

func TestDescriptorSize(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		n    int
		ok   bool
		name string
	}{
		{nil, 0, false, "empty"},
		{[]byte{0x10, 0x00}, 1, true, "no extension"},
		{[]byte{0x90}, 0, false, "extension byte missing"},
		{[]byte{0x90, 0x80, 0x05}, 3, true, "one-byte picture id"},
		{[]byte{0x90, 0x80, 0x85}, 0, false, "two-byte picture id cut short"},
		{keyframe, 6, true, "everything"},
		{[]byte{0x90, 0x70}, 0, false, "TL0PICIDX and TID announced, absent"},
	} {
		if n, ok := DescriptorSize(c.p); n != c.n || ok != c.ok {
			t.Errorf("%s: DescriptorSize = %d, %v; want %d, %v", c.name, n, ok, c.n, c.ok)
		}
	}
}

func TestKeyframeAndSize(t *testing.T) {
	if !IsKeyframe(keyframe) {
		t.Error("keyframe not recognised")
	}
	if w, h, ok := FrameSize(keyframe); !ok || w != 640 || h != 360 {
		t.Errorf("FrameSize = %d x %d, %v; want 640 x 360", w, h, ok)
	}
	inter := append([]byte(nil), keyframe...)
	inter[6] |= 0x01 // P bit: an interframe
	if IsKeyframe(inter) {
		t.Error("interframe taken for a keyframe")
	}
	if _, _, ok := FrameSize(inter); ok {
		t.Error("an interframe has a frame size")
	}
	later := append([]byte(nil), keyframe...)
	later[0] &^= 0x10 // not the start of a partition
	if IsKeyframe(later) {
		t.Error("a continuation taken for a keyframe")
	}
	for i := range keyframe {
		IsKeyframe(keyframe[:i]) // no read past the end at any length
		FrameSize(keyframe[:i])
	}
}

// TestDeps: a leaf that the media core, the client and the bench share.
func TestDeps(t *testing.T) { deptest.Check(t, deptest.Rule{Self: "internal/vp8"}) }
