package sfu

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
)

// tcpMux is the ICE-TCP port: one listener on every local address, shared by every
// peer connection through Pion's ICE TCP mux, which hands each accepted connection
// to the peer connection its first STUN request names (RFC 6544 framing).
type tcpMux struct {
	mux   *ice.TCPMuxDefault
	ln    net.Listener
	close sync.Once
	err   error
}

// tcpFirstRequestTimeout bounds how long an accepted connection may stay without
// sending the STUN request that names its peer connection: a connection that never
// does is someone else's (a scanner, a stray client), and holds a socket and a
// goroutine until then.
const tcpFirstRequestTimeout = 10 * time.Second

// tcpWriteBuffer bounds the bytes queued for one TCP connection: a second of
// several Mbit/s of media.
const tcpWriteBuffer = 1 << 20

// listenTCPMux listens on port (0: a free port) of every local address.
func listenTCPMux(port uint16, log logging.LeveledLogger) (*tcpMux, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{Port: int(port)})
	if err != nil {
		return nil, fmt.Errorf("sfu: ICE-TCP port: %w", err)
	}
	mux := ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: ln, Logger: log, ReadBufferSize: 64,
		// Per connection: writes beyond it are dropped rather than block the
		// sender, as a full UDP socket buffer would drop them.
		WriteBufferSize: tcpWriteBuffer, FirstStunBindTimeout: tcpFirstRequestTimeout})
	return &tcpMux{mux: mux, ln: ln}, nil
}

// Port is the port of the ICE-TCP candidates.
func (m *tcpMux) Port() int { return m.ln.Addr().(*net.TCPAddr).Port }

// Close closes the listener and every connection accepted on it; later calls
// return the first one's result.
func (m *tcpMux) Close() error {
	m.close.Do(func() { m.err = m.mux.Close() })
	return m.err
}
