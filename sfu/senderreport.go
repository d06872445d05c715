package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// Lip sync: a subscriber plays a participant's audio and video in sync by mapping
// each stream's RTP timestamps to one wall clock, with the RTCP sender reports of
// each stream. The publisher's reports give that mapping on its own clock, the one
// its capture used; each down-track forwards them with the RTP time moved into its
// own timestamp space (the rewriter's offset), its own SSRC, and the packet and
// octet counts of what it sent. The audio and video of one publisher then map to the
// same instant at the subscriber, whatever the delays inside the publisher or on the
// way. Pion's sender-report interceptor is not used: its reports map the server's
// own clock to the time a packet left the server, which is off by whatever the
// publisher's encoder and pacer delayed each stream.

// rtcpWriter sends RTCP on a subscriber's connection.
type rtcpWriter func([]rtcp.Packet) error

// srRecord is the last sender report a down-track sent: the middle 32 bits of its
// NTP time, which the subscriber's receiver reports echo (LSR), and when it went out.
type srRecord struct {
	lsr uint32
	at  time.Time
}

// senderReport passes the publisher's sender report (ntp, its NTP time; rtpTime, the
// RTP time of the same instant) to every down-track. It runs on the publisher's RTCP
// reader.
func (t *Track) senderReport(ntp uint64, rtpTime uint32) {
	now := time.Now()
	for _, d := range *t.root.downs.Load() {
		d.senderReport(t, ntp, rtpTime, now)
	}
}

// senderReport sends the subscriber src's sender report, made the down-track's. It
// sends nothing before the down-track has sent a packet of src: the offset between
// the two timestamp spaces is not known until then.
func (d *DownTrack) senderReport(src *Track, ntp uint64, rtpTime uint32, now time.Time) {
	b := d.binding.Load()
	if b == nil || d.rtcpOut == nil {
		return
	}
	d.mu.Lock()
	if src != d.cur || !d.rw.sent || d.rw.rebase {
		d.mu.Unlock()
		return
	}
	sr := &rtcp.SenderReport{SSRC: b.ssrc, NTPTime: ntp, RTPTime: rtpTime + d.rw.tsOffset,
		PacketCount: uint32(d.written.Load()), OctetCount: uint32(d.payloadBytes)}
	d.lastSR = srRecord{lsr: uint32(ntp >> 16), at: now}
	d.mu.Unlock()
	// An error means the connection is closing: this report is lost, as on a
	// network that drops it.
	_ = d.rtcpOut([]rtcp.Packet{sr})
}

// sentReportAt is when the sender report the subscriber names by lsr went out; zero
// when it is not the last one sent.
func (d *DownTrack) sentReportAt(lsr uint32) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if lsr == 0 || d.lastSR.lsr != lsr {
		return time.Time{}
	}
	return d.lastSR.at
}
