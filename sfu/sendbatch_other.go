//go:build !linux

package sfu

import (
	"net"

	"golang.org/x/net/ipv4"
)

// batchWriter sends a batch of datagrams one by one: sendmmsg is Linux's, and x/net's
// WriteBatch fails on systems that lack sendmsg too (Windows).
type batchWriter struct{ conn *net.UDPConn }

func newBatchWriter(conn *net.UDPConn) batchWriter { return batchWriter{conn} }

// write sends msgs, and says how many it went through.
func (w batchWriter) write(msgs []ipv4.Message) (int, error) { return writeEach(w.conn, msgs) }
