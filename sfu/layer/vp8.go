package layer

// VP8Munger keeps the VP8 payload descriptor's picture id and TL0PICIDX (RFC 7741
// section 4.2) continuous for one subscriber when the packets it is sent come from
// another layer, whose encoder numbers its pictures on its own.
//
// Rewrite changes a payload in place; the caller sends it and then calls Restore,
// so that a payload shared by several subscribers is theirs unchanged.
type VP8Munger struct {
	picOffset, tl0Offset uint16
	lastPic              uint16
	lastTL0              uint8
	seen                 bool // a picture id has gone out
	rebase               bool // the next packet starts a new layer
}

// Saved is what Rewrite changed, for Restore.
type Saved struct {
	picAt, tl0At int // offsets in the payload, 0: none
	pic          [2]byte
	tl0          byte
}

// Rebase notes that the next packet rewritten starts a new layer (at its keyframe):
// its picture id follows the last one sent.
func (m *VP8Munger) Rebase() { m.rebase = true }

// Rewrite maps the picture id and TL0PICIDX of payload, a VP8 RTP payload, into
// the subscriber's numbering, in place. A payload without them, or too short to
// hold what its descriptor announces, is left alone.
func (m *VP8Munger) Rewrite(p []byte) Saved {
	var sv Saved
	picAt, wide, tl0At := descriptor(p)
	if picAt > 0 {
		sv.picAt = picAt
		copy(sv.pic[:], p[picAt:])
		in := uint16(p[picAt] & 0x7f)
		mask := uint16(0x7f)
		if wide {
			in = in<<8 | uint16(p[picAt+1])
			mask = 0x7fff
		}
		if m.rebase && m.seen {
			m.picOffset = m.lastPic + 1 - in
		}
		out := (in + m.picOffset) & mask
		if wide {
			p[picAt] = 0x80 | byte(out>>8)
			p[picAt+1] = byte(out)
		} else {
			p[picAt] = byte(out)
		}
		m.lastPic, m.seen = out, true
	}
	if tl0At > 0 {
		sv.tl0At, sv.tl0 = tl0At, p[tl0At]
		in := p[tl0At]
		if m.rebase && picAt > 0 {
			m.tl0Offset = uint16(m.lastTL0 + 1 - in)
		}
		p[tl0At] = in + uint8(m.tl0Offset)
		m.lastTL0 = p[tl0At]
	}
	m.rebase = false
	return sv
}

// Again maps the picture id and TL0PICIDX of p, a packet of the layer forwarded now
// sent before (a retransmission), as Rewrite mapped them then, in place, and changes
// nothing of the munger: a subscriber assembles a frame from packets of one picture
// id, a retransmitted one included.
func (m *VP8Munger) Again(p []byte) {
	picAt, wide, tl0At := descriptor(p)
	if picAt > 0 {
		if wide {
			out := (uint16(p[picAt]&0x7f)<<8 | uint16(p[picAt+1])) + m.picOffset
			p[picAt], p[picAt+1] = 0x80|byte(out>>8&0x7f), byte(out)
		} else {
			p[picAt] = byte((uint16(p[picAt]&0x7f) + m.picOffset) & 0x7f)
		}
	}
	if tl0At > 0 {
		p[tl0At] += uint8(m.tl0Offset)
	}
}

// Restore puts back in p what Rewrite changed.
func Restore(p []byte, sv Saved) {
	if sv.picAt > 0 {
		p[sv.picAt] = sv.pic[0]
		if sv.pic[0]&0x80 != 0 {
			p[sv.picAt+1] = sv.pic[1]
		}
	}
	if sv.tl0At > 0 {
		p[sv.tl0At] = sv.tl0
	}
}

// descriptor finds the picture id (its offset, and whether it takes two bytes) and
// TL0PICIDX (its offset) in a VP8 payload descriptor; 0 for one it lacks.
func descriptor(p []byte) (picAt int, wide bool, tl0At int) {
	if len(p) < 2 || p[0]&0x80 == 0 {
		return 0, false, 0
	}
	x := p[1]
	i := 2
	if x&0x80 != 0 {
		if len(p) <= i {
			return 0, false, 0
		}
		wide = p[i]&0x80 != 0
		picAt = i
		i++
		if wide {
			i++
		}
	}
	if x&0x40 != 0 {
		tl0At = i
		i++
	}
	if len(p) < i {
		return 0, false, 0
	}
	return picAt, wide, tl0At
}
