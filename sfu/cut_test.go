package sfu

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// cutLink drops the RTP a Pion peer sends while cut is set, after its NACK responder
// has kept each packet: a network that went away under a sender that went on
// sending, as a browser does.
type cutLink struct {
	interceptor.NoOp
	cut atomic.Bool
}

func (c *cutLink) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

func (c *cutLink) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if c.cut.Load() {
			return len(payload), nil
		}
		return w.Write(h, payload, a)
	})
}

// nackLog counts the NACKs a publisher receives and when the last one came.
type nackLog struct {
	count atomic.Int64
	last  atomic.Int64 // unix nanoseconds
}

func (l *nackLog) read(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.TransportLayerNack); ok {
				l.count.Add(1)
				l.last.Store(time.Now().UnixNano())
			}
		}
	}
}

// TestRepairAfterACut: a publisher whose network is cut for a while (its packets
// lost, and kept by its NACK responder) and which then sends a few packets and stops
// (as a browser's simulcast layer does when its congestion control, starved of
// feedback, drops it) has the packets of the cut resent on the server's NACKs, and
// the server takes them: all that it asked for arrives. Packets the publisher no
// longer has (five never sent) are asked for a few times, not forever: NACKs that
// nothing answers would go on while the stream stands still, and a browser counts
// each unanswered retransmission as lost, which keeps its estimate, and so its
// layers, down.
func TestRepairAfterACut(t *testing.T) {
	rooms := newPionRooms(t, Config{})
	link := &cutLink{}
	api := pionAPI(t, nil, func(_ *webrtc.MediaEngine, r *interceptor.Registry) error {
		r.Add(link) // first: nearest the network, after the responder has kept the packet
		responder, err := nack.NewResponderInterceptor()
		if err != nil {
			return err
		}
		r.Add(responder)
		return nil
	})
	alice := joinPion(t, rooms, "cut", "alice", api, nil)
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "alice")
	if err != nil {
		t.Fatal(err)
	}
	nacks := &nackLog{}
	alice.publishWith(map[Source]webrtc.TrackLocal{SourceCamera: video}, nacks.read)

	var seq uint16
	sent := 0
	send := func(n int, gap time.Duration) {
		for range n {
			seq++
			payload := make([]byte, 200)
			payload[0], payload[1] = 0x10, 0x01 // start of partition 0, an inter frame
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: payload}
			if err := video.WriteRTP(&pkt); err != nil {
				t.Fatal(err)
			}
			sent++
			time.Sleep(gap)
		}
	}
	pollUntil(t, 10*time.Second, func() (bool, string) {
		st := alice.pub.ConnectionState()
		return st == webrtc.PeerConnectionStateConnected, fmt.Sprintf("alice's publisher connection is %s", st)
	})
	var track *Track
	pollUntil(t, 10*time.Second, func() (bool, string) {
		send(1, 10*time.Millisecond)
		alice.p.room.ops.do(func() {
			if m := alice.p.room.find(alice.p.id); m != nil && len(m.tracks) > 0 {
				track = m.tracks[0]
			}
		})
		if track == nil || track.Packets() < 20 {
			return false, "the server has not received 20 of alice's packets yet"
		}
		return true, ""
	})
	delivered := uint64(sent) // all of them, sent once connected: no loss on loopback
	pollUntil(t, 5*time.Second, func() (bool, string) {
		return track.Packets() >= delivered, fmt.Sprintf("the server has %d of alice's %d packets", track.Packets(), delivered)
	})

	link.cut.Store(true)
	send(400, 0) // lost, kept by the responder: fewer than the server's NACK window
	link.cut.Store(false)
	seq += 5 // lost and no longer kept
	send(20, 5*time.Millisecond)
	want := uint64(sent)

	pollUntil(t, 10*time.Second, func() (bool, string) {
		n := track.Packets()
		return n >= want, fmt.Sprintf("the server has %d of alice's %d packets (%d NACKs so far)", n, want, nacks.count.Load())
	})
	pollUntil(t, 15*time.Second, func() (bool, string) {
		since := time.Since(time.Unix(0, nacks.last.Load()))
		return since >= 2*time.Second, fmt.Sprintf("NACKs still come: %d so far, the last %v ago", nacks.count.Load(), since.Round(time.Millisecond))
	})
}
