package sfu

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// batchSize is how many datagrams one sendmmsg call carries at most. A fan-out to
// more subscribers than this goes out in several calls.
const batchSize = 64

// batchSlotSize is the largest datagram a batch slot holds; larger ones (none are
// expected: Pion's MTU is 1200 bytes) are sent on their own.
const batchSlotSize = 1500

// sendGroup coordinates the batching of a set of sockets: while a forward loop fans a
// packet out to its subscribers (between begin and end), every datagram written to
// one of the sockets is queued instead of sent, and end sends each socket's queue
// with as few sendmmsg calls as it takes. Outside a fan-out, writes (ICE, DTLS,
// RTCP, retransmissions) go out at once.
//
// A queued datagram waits at most until the end of the fan-out during which it was
// written: no timer and no added latency beyond the fan-out itself. A nil
// *sendGroup batches nothing.
type sendGroup struct {
	fanouts atomic.Int32 // fan-outs in progress
	conns   []*batchConn // fixed once the group is built
}

// begin marks the start of a fan-out.
func (g *sendGroup) begin() {
	if g != nil {
		g.fanouts.Add(1)
	}
}

// end marks the end of a fan-out and sends what is queued.
func (g *sendGroup) end() {
	if g == nil {
		return
	}
	g.fanouts.Add(-1)
	for _, c := range g.conns {
		c.flush()
	}
}

// batchConn is a UDP socket whose writes are queued while its group has a fan-out
// in progress. It implements net.PacketConn and the allocation-free address methods
// Pion's UDP mux looks for.
//
// mu is held to copy a datagram into the queue and to swap queues, never during a
// system call.
type batchConn struct {
	conn  *net.UDPConn
	batch batchWriter // sendmmsg on Linux, one datagram per call elsewhere
	group *sendGroup

	mu     sync.Mutex
	queue  *sendQueue
	spares []*sendQueue // queues not being filled or sent
}

// sendQueue is a batch of datagrams, each copied into a slot of its own.
type sendQueue struct {
	msgs  []ipv4.Message
	slots []sendSlot
}

type sendSlot struct {
	buf  [batchSlotSize]byte
	ip   [16]byte
	addr net.UDPAddr // IP points into ip
	iov  [1][]byte
}

func newSendQueue() *sendQueue {
	q := &sendQueue{msgs: make([]ipv4.Message, 0, batchSize), slots: make([]sendSlot, batchSize)}
	return q
}

func newBatchConn(conn *net.UDPConn, group *sendGroup) *batchConn {
	return &batchConn{conn: conn, batch: newBatchWriter(conn), group: group, queue: newSendQueue()}
}

// WriteToAddrPort sends b to addr, or queues it during a fan-out.
func (c *batchConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if len(b) > batchSlotSize {
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	c.mu.Lock()
	// Checked under mu: a fan-out's end takes mu after counting itself out, so a
	// datagram queued here is always sent by some end.
	if c.group.fanouts.Load() == 0 {
		c.mu.Unlock()
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	q := c.queue
	i := len(q.msgs)
	s := &q.slots[i]
	n := copy(s.buf[:], b)
	s.iov[0] = s.buf[:n]
	a := addr.Addr().Unmap()
	if a.Is4() {
		v4 := a.As4()
		s.addr.IP = s.ip[:copy(s.ip[:], v4[:])]
	} else {
		v6 := a.As16()
		s.addr.IP = s.ip[:copy(s.ip[:], v6[:])]
	}
	s.addr.Port = int(addr.Port())
	q.msgs = append(q.msgs, ipv4.Message{Buffers: s.iov[:], Addr: &s.addr})
	var full *sendQueue
	if len(q.msgs) == batchSize {
		full = c.swapLocked()
	}
	c.mu.Unlock()
	if full != nil {
		c.send(full)
	}
	return n, nil
}

// WriteTo is WriteToAddrPort for a net.Addr.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return c.conn.WriteTo(b, addr)
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

// swapLocked takes the current queue to be sent and puts an empty one in its place.
// c.mu is held.
func (c *batchConn) swapLocked() *sendQueue {
	full := c.queue
	if n := len(c.spares); n > 0 {
		c.queue = c.spares[n-1]
		c.spares = c.spares[:n-1]
	} else {
		c.queue = newSendQueue()
	}
	return full
}

// flush sends what is queued.
func (c *batchConn) flush() {
	c.mu.Lock()
	if len(c.queue.msgs) == 0 {
		c.mu.Unlock()
		return
	}
	full := c.swapLocked()
	c.mu.Unlock()
	c.send(full)
}

// send writes q's datagrams and returns q to the spares. A datagram the kernel
// refuses is dropped, as a failed sendto would drop it; the rest still go out.
func (c *batchConn) send(q *sendQueue) {
	msgs := q.msgs
	for len(msgs) > 0 {
		n, err := c.batch.write(msgs)
		if err != nil && n <= 0 {
			n = 1
		}
		msgs = msgs[n:]
	}
	clear(q.msgs) // drop the references to addresses
	q.msgs = q.msgs[:0]
	c.mu.Lock()
	c.spares = append(c.spares, q)
	c.mu.Unlock()
}

// writeEach sends msgs one sendto at a time, the way of systems without sendmmsg
// (x/net's WriteBatch has no such fallback on Windows). A datagram the kernel
// refuses is skipped; the first error is returned.
func writeEach(conn *net.UDPConn, msgs []ipv4.Message) (int, error) {
	var first error
	for i := range msgs {
		m := &msgs[i]
		to, ok := m.Addr.(*net.UDPAddr)
		if !ok || len(m.Buffers) != 1 {
			continue // not queued by WriteToAddrPort: cannot happen
		}
		if _, err := conn.WriteToUDPAddrPort(m.Buffers[0], to.AddrPort()); err != nil && first == nil {
			first = err
		}
	}
	return len(msgs), first
}

// ReadFromAddrPort reads one datagram.
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.conn.ReadFromUDPAddrPort(b)
}

// ReadFrom reads one datagram.
func (c *batchConn) ReadFrom(b []byte) (int, net.Addr, error) { return c.conn.ReadFrom(b) }

// Close closes the socket. Queued datagrams are dropped.
func (c *batchConn) Close() error { return c.conn.Close() }

// LocalAddr is the socket's address.
func (c *batchConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// SetDeadline sets the socket's read and write deadlines.
func (c *batchConn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (c *batchConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the socket's write deadline.
func (c *batchConn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
