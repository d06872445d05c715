package sfu

import (
	"net"

	"golang.org/x/net/ipv4"
)

// batchWriter sends a batch of datagrams with as few sendmmsg calls as it takes.
type batchWriter struct{ pc *ipv4.PacketConn }

func newBatchWriter(conn *net.UDPConn) batchWriter { return batchWriter{ipv4.NewPacketConn(conn)} }

// write sends a prefix of msgs, and says how many it sent.
func (w batchWriter) write(msgs []ipv4.Message) (int, error) { return w.pc.WriteBatch(msgs, 0) }
