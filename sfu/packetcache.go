package sfu

import "sync"

// cacheSize is how many packets of a published video track are kept to answer
// subscribers' NACKs: 512 packets is about half a second of 8 Mbit/s video, longer
// than any useful retransmission delay.
const cacheSize = 512

// packetCache keeps the latest packets of one published track, as read from the
// publisher, by sequence number. One cache serves every subscriber of the track:
// a retransmission is the cached packet rewritten for the subscriber who asked, so
// memory does not grow with the number of subscribers.
//
// The cache also remembers where the last keyframe it holds starts, for new
// subscribers to start from (faststart.go).
//
// The forward loop puts; subscribers' RTCP readers and starting down-tracks get. mu
// is held for one copy.
type packetCache struct {
	mu    sync.Mutex
	slots [cacheSize]cacheSlot
	kf    keyframeMark
}

type cacheSlot struct {
	seq  uint16
	size int // 0: empty
	buf  [maxPacketSize]byte
}

// put keeps packet b with sequence number seq, replacing the packet cacheSize
// numbers older.
func (c *packetCache) put(seq uint16, b []byte) {
	c.mu.Lock()
	s := &c.slots[seq%cacheSize]
	s.seq = seq
	s.size = copy(s.buf[:], b)
	c.mu.Unlock()
}

// get copies the packet with sequence number seq into dst and returns its size, or
// 0 when it is no longer (or never was) kept.
func (c *packetCache) get(seq uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[seq%cacheSize]
	if s.size == 0 || s.seq != seq {
		return 0
	}
	return copy(dst, s.buf[:s.size])
}

// markKeyframe notes that the packet seq, just put, with timestamp ts, starts a
// keyframe that arrived at now (unix nanoseconds). A later packet of the same
// picture (an H.264 IDR slice after its parameter sets) does not move the mark.
func (c *packetCache) markKeyframe(seq uint16, ts uint32, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kf.ok && c.kf.ts == ts {
		return
	}
	c.kf = keyframeMark{seq: seq, ts: ts, at: now, ok: true}
}

// lastKeyframe is the mark of the last keyframe put.
func (c *packetCache) lastKeyframe() keyframeMark {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kf
}

// forgetKeyframe drops the mark: what the cache holds no longer leads to the
// packets that follow (the track was muted, and its packets not cached).
func (c *packetCache) forgetKeyframe() {
	c.mu.Lock()
	c.kf.ok = false
	c.mu.Unlock()
}
