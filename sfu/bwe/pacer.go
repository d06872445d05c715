package bwe

import (
	"errors"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// errNoStream: a packet written before any stream was bound.
var errNoStream = errors.New("bwe: no stream bound")

// directPacer is GCC's pacer that sends every packet at once, on the caller's
// goroutine, like gcc.NoOpPacer; unlike it, it also sends a packet whose SSRC no
// stream was bound with. The server writes retransmissions (RFC 4588 RTX) through
// the writer of the stream they repair, with the RTX stream's SSRC; every stream's
// writer ends in the connection's one SRTP session, which encrypts by the header's
// SSRC, so any bound writer carries them (and counts them for the estimate).
type directPacer struct {
	mu      sync.Mutex
	writers map[uint32]interceptor.RTPWriter
	any     interceptor.RTPWriter
}

func newDirectPacer() *directPacer {
	return &directPacer{writers: map[uint32]interceptor.RTPWriter{}}
}

func (p *directPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writers[ssrc] = w
	p.any = w
}

func (p *directPacer) SetTargetBitrate(int) {}

func (p *directPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.Lock()
	w, ok := p.writers[h.SSRC]
	if !ok {
		w = p.any
	}
	p.mu.Unlock()
	if w == nil {
		return 0, errNoStream
	}
	return w.Write(h, payload, a)
}

func (p *directPacer) Close() error { return nil }
