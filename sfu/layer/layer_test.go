package layer

import (
	"testing"
)

// TestSelectorSwitchesAtKeyframes: a new target is forwarded from its first
// keyframe on, the old layer until then; a pause stops at once.
func TestSelectorSwitchesAtKeyframes(t *testing.T) {
	var s Selector
	s.Start(2)
	s.SetTarget(2)
	steps := []struct {
		what              string
		target            int // applied before the packet unless -2
		layer             int
		key               bool
		forward, switched bool
		current           int
	}{
		{"current layer", -2, 2, false, true, false, 2},
		{"another layer", -2, 0, true, false, false, 2},
		{"new target, old layer goes on", 0, 2, false, true, false, 2},
		{"target, not a keyframe", -2, 0, false, false, false, 2},
		{"target keyframe", -2, 0, true, true, true, 0},
		{"old layer, after the switch", -2, 2, true, false, false, 0},
		{"new layer goes on", -2, 0, false, true, false, 0},
		{"pause", None, 0, true, false, false, None},
		{"paused: no layer", -2, 2, true, false, false, None},
		{"resume: waits for a keyframe", 1, 1, false, false, false, None},
		{"resume at the keyframe", -2, 1, true, true, true, 1},
	}
	for _, st := range steps {
		if st.target != -2 {
			s.SetTarget(st.target)
		}
		fwd, sw := s.Accept(st.layer, st.key)
		if fwd != st.forward || sw != st.switched || s.Current() != st.current {
			t.Errorf("%s: forward %v switched %v current %d, want %v %v %d", st.what, fwd, sw, s.Current(),
				st.forward, st.switched, st.current)
		}
	}
}

func TestSetTargetAsksForKeyframe(t *testing.T) {
	var s Selector
	if s.SetTarget(0) {
		t.Error("the layer forwarded now needs no keyframe")
	}
	if !s.SetTarget(1) {
		t.Error("a new layer needs a keyframe")
	}
	if s.SetTarget(None) {
		t.Error("a pause needs no keyframe")
	}
}

// vp8 is a payload with a picture id (15 bits when wide) and TL0PICIDX.
func vp8(pic uint16, wide bool, tl0 byte) []byte {
	if wide {
		return []byte{0x90, 0xc0, 0x80 | byte(pic>>8), byte(pic), tl0, 0xaa}
	}
	return []byte{0x90, 0xc0, byte(pic & 0x7f), tl0, 0xaa}
}

// TestVP8MungerContinuesAcrossLayers: picture ids and TL0PICIDX continue where the
// old layer left off, wrap, and the shared payload is restored after sending.
func TestVP8MungerContinuesAcrossLayers(t *testing.T) {
	var m VP8Munger
	check := func(what string, p []byte, wantPic uint16, wantTL0 byte) {
		t.Helper()
		orig := append([]byte(nil), p...)
		sv := m.Rewrite(p)
		picAt, wide, tl0At := descriptor(p)
		pic := uint16(p[picAt] & 0x7f)
		if wide {
			pic = pic<<8 | uint16(p[picAt+1])
		}
		if pic != wantPic || p[tl0At] != wantTL0 {
			t.Errorf("%s: picture id %d tl0 %d, want %d %d", what, pic, p[tl0At], wantPic, wantTL0)
		}
		Restore(p, sv)
		if string(p) != string(orig) {
			t.Errorf("%s: payload not restored: % x, was % x", what, p, orig)
		}
	}
	check("first layer passes through", vp8(100, true, 7), 100, 7)
	check("next picture", vp8(101, true, 8), 101, 8)
	m.Rebase()
	check("switch to a layer numbered elsewhere", vp8(5000, true, 200), 102, 9)
	check("the new layer goes on", vp8(5001, true, 201), 103, 10)
	m.Rebase()
	check("switch to a layer near the wrap", vp8(0x7fff, true, 255), 104, 11)
	check("the new layer wraps", vp8(0, true, 0), 105, 12)
}

func TestVP8MungerLeavesOthersAlone(t *testing.T) {
	var m VP8Munger
	for _, p := range [][]byte{{}, {0x10}, {0x90}, {0x90, 0x80}, {0x10, 0x01, 0x02}} {
		orig := append([]byte(nil), p...)
		sv := m.Rewrite(p)
		Restore(p, sv)
		if string(p) != string(orig) {
			t.Errorf("% x changed to % x", orig, p)
		}
	}
}

func TestVP8MungerAllocatesNothing(t *testing.T) {
	var m VP8Munger
	p := vp8(1, true, 1)
	if n := testing.AllocsPerRun(100, func() {
		m.Rebase()
		Restore(p, m.Rewrite(p))
	}); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}

// TestVP8MungerAgain: a retransmission of a packet of the layer forwarded now gets
// the picture id and TL0PICIDX it was first sent with, and the munger's numbering
// goes on as if it had not been sent.
func TestVP8MungerAgain(t *testing.T) {
	var m VP8Munger
	m.Rewrite(vp8(100, true, 7))
	m.Rebase()
	first := vp8(5000, true, 200)
	m.Rewrite(first) // sent as 101, tl0 8
	m.Rewrite(vp8(5001, true, 201))
	for _, wide := range []bool{true, false} {
		again := vp8(5000, wide, 200)
		m.Again(again)
		picAt, _, tl0At := descriptor(again)
		pic := uint16(again[picAt] & 0x7f)
		if wide {
			pic = pic<<8 | uint16(again[picAt+1])
		}
		want := uint16(101)
		if !wide {
			want = (5000 + m.picOffset) & 0x7f
		}
		if pic != want || again[tl0At] != 8 {
			t.Errorf("wide %v: retransmitted as picture id %d tl0 %d, want %d 8", wide, pic, again[tl0At], want)
		}
	}
	next := vp8(5002, true, 202)
	m.Rewrite(next)
	if picAt, _, _ := descriptor(next); uint16(next[picAt]&0x7f)<<8|uint16(next[picAt+1]) != 103 {
		t.Errorf("after the retransmission the next picture is %x, want 103", next[picAt:picAt+2])
	}
}

// TestSelectorIgnores: a forward loop may skip, without the down-track's lock, the
// packets of every layer but the one forwarded and the one awaited, and of all
// layers while paused; a selector never set ignores nothing.
func TestSelectorIgnores(t *testing.T) {
	var s Selector
	for l := range 3 {
		if s.Ignores(l) {
			t.Fatalf("a zero selector ignores layer %d", l)
		}
	}
	check := func(when string, want ...bool) {
		t.Helper()
		for l, w := range want {
			if s.Ignores(l) != w {
				t.Errorf("%s: Ignores(%d) = %v, want %v", when, l, !w, w)
			}
			if fwd, _ := s.Accept(l, false); s.Ignores(l) && fwd {
				t.Errorf("%s: layer %d ignored but a packet of it is forwarded", when, l)
			}
		}
	}
	s.SetTarget(2)
	check("forwarding 0, awaiting 2", false, true, false)
	s.Accept(2, true)
	check("forwarding 2", true, true, false)
	s.SetTarget(1)
	check("forwarding 2, awaiting 1", true, false, false)
	s.SetTarget(None)
	check("paused", true, true, true)
	s.Start(0)
	check("started on 0 while paused", false, true, true)
}
