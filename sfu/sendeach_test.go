package sfu

import (
	"fmt"
	"net"
	"testing"

	"golang.org/x/net/ipv4"
)

// TestWriteEach: the send of systems without sendmmsg delivers every datagram of a
// batch to the receiver it is addressed to, in order.
func TestWriteEach(t *testing.T) {
	from, a, b := listenLoopback(t), listenLoopback(t), listenLoopback(t)
	var msgs []ipv4.Message
	for i := range 6 {
		to := a.LocalAddr().(*net.UDPAddr)
		if i%2 == 1 {
			to = b.LocalAddr().(*net.UDPAddr)
		}
		msgs = append(msgs, ipv4.Message{Buffers: [][]byte{fmt.Appendf(nil, "packet %d", i)}, Addr: to})
	}
	if n, err := writeEach(from, msgs); n != len(msgs) || err != nil {
		t.Fatalf("writeEach: %d, %v; want %d, nil", n, err, len(msgs))
	}
	for i, r := range []*net.UDPConn{a, b} {
		got := readN(t, r, 3)
		for j, d := range got {
			if want := fmt.Sprintf("packet %d", 2*j+i); string(d) != want {
				t.Errorf("receiver %d, datagram %d: %q, want %q", i, j, d, want)
			}
		}
	}
}
