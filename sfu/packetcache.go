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
// The forward loop puts; subscribers' RTCP readers get. mu is held for one copy.
type packetCache struct {
	mu    sync.Mutex
	slots [cacheSize]cacheSlot
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
