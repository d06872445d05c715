package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestRecvStats: loss counts the sequence numbers never received, across a
// wrap-around; a steady stream has no jitter, a delayed packet some; the bitrate is
// measured over the window.
func TestRecvStats(t *testing.T) {
	var s recvStats
	const clock = 90000
	now := time.Now().UnixNano()
	seq, ts := uint16(65530), uint32(1000)
	for i := range 100 {
		if i == 10 || i == 11 { // two lost, across the wrap at 65535
			seq++
			ts += 3000
			continue
		}
		s.observe(seq, ts, 1000, now+int64(i)*int64(time.Second/30), clock)
		seq++
		ts += 3000
	}
	if got := s.lost.Load(); got != 2 {
		t.Errorf("lost %d, want 2", got)
	}
	if got := time.Duration(s.jitter.Load()); got > time.Millisecond {
		t.Errorf("jitter of a steady stream: %v", got)
	}
	if got := s.bitrate.Load(); got < 230_000 || got > 250_000 { // 1000 bytes, 30 a second
		t.Errorf("bitrate %d, want about 240000", got)
	}
	s.observe(seq, ts, 1000, now+100*int64(time.Second/30)+int64(20*time.Millisecond), clock)
	if got := time.Duration(s.jitter.Load()); got < time.Millisecond {
		t.Errorf("jitter after a packet 20 ms late: %v", got)
	}
}

// TestSendStatsReport: a receiver report gives loss, jitter in time, and the round
// trip from its LSR and DLSR.
func TestSendStatsReport(t *testing.T) {
	var s sendStats
	now := time.Now()
	srSent := now.Add(-150 * time.Millisecond) // our SR, sent 150 ms ago
	delay := uint32(100 * 65536 / 1000)        // held 100 ms by the subscriber
	s.report(rtcp.ReceptionReport{TotalLost: 3, Jitter: 900, LastSenderReport: 12345, Delay: delay}, now, 90000, 0, srSent)
	if got := s.lost.Load(); got != 3 {
		t.Errorf("lost %d, want 3", got)
	}
	if got := time.Duration(s.jitter.Load()); got != 10*time.Millisecond {
		t.Errorf("jitter %v, want 10ms", got)
	}
	if got := time.Duration(s.rtt.Load()); got < 49*time.Millisecond || got > 51*time.Millisecond {
		t.Errorf("RTT %v, want 50ms", got)
	}
}
