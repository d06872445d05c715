package sfu

import (
	"log/slog"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// rtcpBufferSize holds any RTCP datagram: one is at most an MTU.
const rtcpBufferSize = 1500

// rtcpSource is a stream of RTCP datagrams: a Pion sender's or receiver's Read.
type rtcpSource func(b []byte) (int, interceptor.Attributes, error)

// readRTCP reads RTCP datagrams from read, into one buffer, until read fails,
// and hands each, decoded, to handle. raw, when not nil, sees each datagram first
// (undecoded) and reports whether it holds packets left for handle. A datagram
// that does not decode is skipped: one malformed packet from a client must not
// end the reading of its feedback (Pion's ReadRTCP returns the decoding error as
// if the stream had ended).
func readRTCP(read rtcpSource, log *slog.Logger, raw func([]byte) bool, handle func([]rtcp.Packet)) {
	buf := make([]byte, rtcpBufferSize)
	for {
		n, _, err := read(buf)
		if err != nil {
			return
		}
		if raw != nil && !raw(buf[:n]) {
			continue
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			log.Debug("malformed RTCP", "err", err)
			continue
		}
		handle(pkts)
	}
}
