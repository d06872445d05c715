package sfu

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Per-participant statistics, from counters the server keeps: the forward path
// updates atomics (no lock, no allocation), the subscribers' receiver reports give
// loss, jitter and round-trip time of what the server sends, and the ICE transports
// their selected candidate pairs. Pion's stats interceptor is not used (see
// registerInterceptors).

// rateWindow is the span over which a stream's bitrate is measured; a stream silent
// for longer than staleAfter has a bitrate of zero.
const (
	rateWindow = time.Second
	staleAfter = 2 * rateWindow
)

// StreamStats describe one RTP stream of a participant, as the server receives it
// (a track it publishes) or sends it (a track it receives).
type StreamStats struct {
	Track TrackID
	// From is the publisher of a received track; empty for a published one.
	From   ParticipantID
	Kind   webrtc.RTPCodecType
	Source Source
	// Packets and Bytes (RTP headers and payloads) so far; Bitrate over about the
	// last second, in bits per second.
	Packets, Bytes, Bitrate uint64
	// Lost is the packets lost so far: for a published track, those the server did
	// not receive; for a received track, as the subscriber's receiver reports say
	// (zero before its first report).
	Lost int64
	// Jitter is the RTP interarrival jitter (RFC 3550 section 6.4.1): measured by
	// the server on published tracks, reported by the subscriber on received ones.
	Jitter time.Duration
	// RTT is the round-trip time to the subscriber, from its receiver reports; zero
	// when unknown (and for published tracks).
	RTT time.Duration
}

// ConnectionStats describe one peer connection of a participant.
type ConnectionStats struct {
	Side  Side
	State webrtc.ICEConnectionState
	// The selected candidate pair: the types of the local (server) and remote
	// (client) candidates ("host", "srflx", "prflx", "relay") and the transport
	// protocol ("udp", "tcp"); empty before a pair is selected.
	LocalCandidate, RemoteCandidate, Protocol string
}

// ParticipantStats are a participant's media statistics.
type ParticipantStats struct {
	In          []StreamStats // the tracks it publishes
	Out         []StreamStats // the tracks it receives
	Connections []ConnectionStats
}

// recvStats count one stream the server receives. observe is called by the track's
// read loop alone; the atomics are read by anyone.
type recvStats struct {
	bytes, bitrate atomic.Uint64
	lost           atomic.Int64
	jitter         atomic.Int64 // nanoseconds
	last           atomic.Int64 // unix nanoseconds of the last packet

	// Owned by the read loop.
	started          bool
	start            int64 // unix nanoseconds of the first packet
	baseSeq, maxSeq  uint64
	received         uint64
	lastTransit, jit float64 // RTP clock units
	windowStart      int64
	windowBytes      uint64
}

// observe counts one packet of size bytes, with RTP sequence number seq and
// timestamp ts, arrived at now (unix nanoseconds). clock is the codec's clock rate.
func (s *recvStats) observe(seq uint16, ts uint32, size int, now int64, clock uint32) {
	s.received++
	s.bytes.Add(uint64(size))
	s.last.Store(now)
	arrival := float64(now-s.start) * float64(clock) / 1e9
	if !s.started {
		s.started, s.start, s.windowStart = true, now, now
		s.baseSeq, s.maxSeq = uint64(seq), uint64(seq)
		s.lastTransit = -float64(ts)
	} else if d := int16(seq - uint16(s.maxSeq)); d > 0 {
		s.maxSeq += uint64(d)
	}
	s.lost.Store(int64(s.maxSeq-s.baseSeq+1) - int64(s.received))
	if clock > 0 {
		transit := arrival - float64(ts)
		d := transit - s.lastTransit
		s.lastTransit = transit
		if d < 0 {
			d = -d
		}
		if d < float64(clock) { // a jump of a second or more is a new timeline, not jitter
			s.jit += (d - s.jit) / 16
			s.jitter.Store(int64(s.jit * 1e9 / float64(clock)))
		}
	}
	s.windowBytes += uint64(size)
	if elapsed := now - s.windowStart; elapsed >= int64(rateWindow) {
		s.bitrate.Store(s.windowBytes * 8 * uint64(time.Second) / uint64(elapsed))
		s.windowStart, s.windowBytes = now, 0
	}
}

// rate is the bitrate measured last, zero when the stream has gone silent.
func rate(bitrate *atomic.Uint64, last *atomic.Int64, now time.Time) uint64 {
	if now.UnixNano()-last.Load() > int64(staleAfter) {
		return 0
	}
	return bitrate.Load()
}

// stats are the track's statistics as the server receives it.
func (t *Track) stats(now time.Time) StreamStats {
	return StreamStats{Track: t.info.ID, Kind: t.info.Kind, Source: t.info.Source, Packets: t.forwarded.Load(),
		Bytes: t.recv.bytes.Load(), Bitrate: rate(&t.recv.bitrate, &t.recv.last, now), Lost: max(t.recv.lost.Load(), 0),
		Jitter: time.Duration(t.recv.jitter.Load())}
}

// sendStats count one stream the server sends from the subscriber's receiver reports,
// on its RTCP reader. The bytes sent are the down-track's (DownTrack.sentBytes).
type sendStats struct {
	bitrate     atomic.Uint64
	last        atomic.Int64 // unix nanoseconds of the last rate measure
	lost        atomic.Int64
	jitter, rtt atomic.Int64 // nanoseconds

	// Owned by the RTCP reader.
	windowStart int64
	windowBytes uint64
}

// report takes a receiver report block about the stream, received at now; clock is
// the codec's clock rate, bytes what was sent so far, srSent when the sender report
// the block names (its LSR) was sent, zero when unknown.
func (s *sendStats) report(r rtcp.ReceptionReport, now time.Time, clock uint32, bytes uint64, srSent time.Time) {
	s.lost.Store(int64(r.TotalLost))
	if clock > 0 {
		s.jitter.Store(int64(r.Jitter) * int64(time.Second) / int64(clock))
	}
	if !srSent.IsZero() {
		// RFC 3550 section 6.4.1: now - LSR - DLSR. The sender reports carry the
		// publisher's NTP time, so LSR is matched to the server's own send time.
		hold := time.Duration(int64(r.Delay) * int64(time.Second) >> 16)
		if rtt := now.Sub(srSent) - hold; rtt >= 0 {
			s.rtt.Store(int64(rtt))
		}
	}
	s.measure(now, bytes)
}

// measure updates the bitrate from bytes, sent so far, since the last measure.
func (s *sendStats) measure(now time.Time, bytes uint64) {
	n := now.UnixNano()
	if s.windowStart == 0 {
		s.windowStart, s.windowBytes = n, bytes
		return
	}
	if elapsed := n - s.windowStart; elapsed >= int64(rateWindow)/2 {
		s.bitrate.Store((bytes - s.windowBytes) * 8 * uint64(time.Second) / uint64(elapsed))
		s.last.Store(n)
		s.windowStart, s.windowBytes = n, bytes
	}
}

// ntpTime is t as a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// stats are the down-track's statistics: what the server sends the subscriber.
func (d *DownTrack) stats(now time.Time) StreamStats {
	st := StreamStats{Track: TrackID(d.id), Kind: d.kind, Packets: d.written.Load(), Bytes: d.sentBytes(),
		Bitrate: rate(&d.sent.bitrate, &d.sent.last, now), Lost: d.sent.lost.Load(),
		Jitter: time.Duration(d.sent.jitter.Load()), RTT: time.Duration(d.sent.rtt.Load())}
	if d.track != nil {
		st.From, st.Source = d.track.info.Participant, d.track.info.Source
	}
	return st
}

// Stats are the participant's media statistics now. It waits for the subscriber's
// operation queue (a snapshot of its subscriptions); a participant that has left
// reports what remains.
func (p *Participant) Stats() ParticipantStats {
	now := time.Now()
	st := ParticipantStats{In: []StreamStats{}, Out: []StreamStats{}}
	pubPC := p.pub.trackStats(now, &st)
	p.sub.ops.do(func() {
		for _, s := range p.sub.subscriptions {
			st.Out = append(st.Out, s.down.stats(now))
		}
	})
	if pubPC != nil && pubPC != p.sub.pc {
		st.Connections = append(st.Connections, connectionStats(SidePublisher, pubPC))
	}
	st.Connections = append(st.Connections, connectionStats(SideSubscriber, p.sub.pc))
	return st
}

// trackStats adds the statistics of the published tracks to st, and returns the
// publisher's connection (nil before the first offer).
func (pub *Publisher) trackStats(now time.Time, st *ParticipantStats) *webrtc.PeerConnection {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	for _, t := range pub.tracks {
		st.In = append(st.In, t.stats(now))
	}
	return pub.pc
}

// connectionStats describe pc: its ICE state and selected candidate pair.
func connectionStats(side Side, pc *webrtc.PeerConnection) ConnectionStats {
	cs := ConnectionStats{Side: side, State: pc.ICEConnectionState()}
	pair, err := selectedPair(pc)
	if err == nil && pair != nil && pair.Local != nil && pair.Remote != nil {
		cs.LocalCandidate, cs.RemoteCandidate = pair.Local.Typ.String(), pair.Remote.Typ.String()
		cs.Protocol = pair.Local.Protocol.String()
	}
	return cs
}

var errNoTransport = errors.New("no ICE transport yet")

// selectedPair is pc's selected ICE candidate pair, through any of its transceivers
// (they share one transport: bundle).
func selectedPair(pc *webrtc.PeerConnection) (*webrtc.ICECandidatePair, error) {
	for _, tr := range pc.GetTransceivers() {
		var dtls *webrtc.DTLSTransport
		if s := tr.Sender(); s != nil {
			dtls = s.Transport()
		}
		if dtls == nil {
			if r := tr.Receiver(); r != nil {
				dtls = r.Transport()
			}
		}
		if dtls != nil && dtls.ICETransport() != nil {
			return dtls.ICETransport().GetSelectedCandidatePair()
		}
	}
	return nil, errNoTransport
}
