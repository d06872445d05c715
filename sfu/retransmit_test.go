package sfu

import (
	"bytes"
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// forwardRun forwards n packets from seq on, a keyframe first, and returns their
// sequence numbers.
func forwardRun(t *testing.T, track *Track, seq uint16, n int) []uint16 {
	t.Helper()
	var pkt rtp.Packet
	seqs := make([]uint16, 0, n)
	for i := range n {
		track.forward(&pkt, vp8Packet(t, seq, 3000, i == 0))
		seqs = append(seqs, seq)
		seq++
	}
	return seqs
}

func nackOf(seqs []uint16) []rtcp.Packet {
	return []rtcp.Packet{&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}}
}

// TestNACKStormIsCappedPerSubscriber: a subscriber that NACKs every cached packet
// over and over gets at most its retransmission budget resent, the rest refused and
// counted, while another subscriber of the same track is answered in full.
func TestNACKStormIsCappedPerSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		track, _ := newTestTrack(t, 2)
		downs := *track.downs.Load()
		stormer, other := downs[0], downs[1]
		storm := nackOf(forwardRun(t, track, 100, 300))
		for range 50 {
			stormer.handleRTCP(storm)
		}
		sent, _ := stormer.Retransmitted()
		if sent != retransmitBurst || stormer.RetransmitsRefused() != 50*300-retransmitBurst {
			t.Fatalf("after 50 NACKs of 300 packets: %d resent, %d refused; want %d and %d",
				sent, stormer.RetransmitsRefused(), retransmitBurst, 50*300-retransmitBurst)
		}
		other.handleRTCP(nackOf([]uint16{110, 120, 130, 140, 150, 160, 170, 180, 190, 200}))
		if sent, _ := other.Retransmitted(); sent != 10 || other.RetransmitsRefused() != 0 {
			t.Errorf("the other subscriber: %d resent, %d refused; want 10 and 0", sent, other.RetransmitsRefused())
		}
		time.Sleep(100 * time.Millisecond)
		stormer.handleRTCP(storm)
		if sent, _ := stormer.Retransmitted(); sent != retransmitBurst+retransmitRate/10 {
			t.Errorf("100 ms later: %d resent in all, want %d", sent, retransmitBurst+retransmitRate/10)
		}
	})
}

func TestNACKAllocatesNothing(t *testing.T) {
	track, writers := newTestTrack(t, 1)
	d := (*track.downs.Load())[0]
	nack := nackOf(forwardRun(t, track, 100, 10)[2:5])
	before := writers[0].packets
	// Past the budget as well as within it.
	if allocs := testing.AllocsPerRun(1000, func() { d.handleRTCP(nack) }); allocs != 0 {
		t.Fatalf("answering a NACK allocates %v times", allocs)
	}
	if writers[0].packets == before || d.RetransmitsRefused() == 0 {
		t.Fatalf("resent %d, refused %d: the run did not cover both paths", writers[0].packets-before, d.RetransmitsRefused())
	}
}

// TestRetransmissionsGoOnTheRTXStream: with a retransmission stream negotiated, a
// NACKed packet is resent on it (its SSRC and payload type), numbered in its own
// sequence, with the original sequence number at the head of the payload and the
// original payload after it (RFC 4588).
func TestRetransmissionsGoOnTheRTXStream(t *testing.T) {
	track, _ := newTestTrack(t, 0)
	w := &gatedWriter{ready: true}
	d := newDownTrack(track)
	if _, err := d.Bind(bindContext{ssrc: 42, rtx: 43, writer: w}); err != nil {
		t.Fatal(err)
	}
	seqs := forwardRun(t, track, 100, 10)
	d.handleRTCP(nackOf([]uint16{seqs[3], seqs[5]}))
	if len(w.headers) != 12 {
		t.Fatalf("wrote %d packets, want 10 and 2 retransmissions", len(w.headers))
	}
	first, second := w.headers[10], w.headers[11]
	for i, h := range []rtp.Header{first, second} {
		p := w.payloads[10+i]
		if h.SSRC != 43 || h.PayloadType != 101 || binary.BigEndian.Uint16(p) != seqs[3+2*i] || !bytes.Equal(p[2:], w.payloads[3+2*i]) {
			t.Errorf("retransmission %d: SSRC %d, payload type %d, original seq %d; want 43, 101, %d and the original payload",
				i, h.SSRC, h.PayloadType, binary.BigEndian.Uint16(p), seqs[3+2*i])
		}
	}
	if second.SequenceNumber != first.SequenceNumber+1 {
		t.Errorf("RTX sequence numbers %d then %d, want consecutive", first.SequenceNumber, second.SequenceNumber)
	}
}
