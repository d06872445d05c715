package sfu

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// lossyLink drops a share of the RTP packets a Pion peer receives, on every stream
// (media and retransmissions), before its NACK generator sees them: the loss of the
// network path from the server to that peer.
type lossyLink struct {
	interceptor.NoOp
	rate float64
	mu   sync.Mutex
	rnd  *rand.Rand
}

func (l *lossyLink) NewInterceptor(string) (interceptor.Interceptor, error) { return l, nil }

func (l *lossyLink) drop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rnd.Float64() < l.rate
}

func (l *lossyLink) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attrs, err := r.Read(b, a)
			if err != nil || !l.drop() {
				return n, attrs, err
			}
		}
	})
}

// sendFramesLive writes VP8 frames of three packets, 30 a second, a keyframe every
// 30, until ctx ends.
func sendFramesLive(ctx context.Context, track *webrtc.TrackLocalStaticRTP) {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	var seq uint16
	for frame := 0; ; frame++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i := range 3 {
			payload := make([]byte, 600)
			if i == 0 {
				payload[0], payload[1] = 0x10, 0x01 // start of partition 0, an inter frame
				if frame%30 == 0 {
					payload[1] = 0x00
				}
			}
			seq++
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(frame) * 3000, Marker: i == 2}, Payload: payload}
			if err := track.WriteRTP(&pkt); err != nil {
				return
			}
		}
	}
}

// frameCounter reassembles received VP8 frames by timestamp, from their first
// packet (start of partition 0) to their last (marker).
type frameCounter struct {
	mu       sync.Mutex
	frames   map[uint32]*frameSeen
	newest   uint32
	repaired int // packets that came on the retransmission stream
}

type frameSeen struct {
	first, last int // sequence numbers, -1 until seen
	seqs        map[uint16]bool
}

func (f *frameSeen) complete() bool {
	if f.first < 0 || f.last < 0 {
		return false
	}
	for s := uint16(f.first); ; s++ {
		if !f.seqs[s] {
			return false
		}
		if s == uint16(f.last) {
			return true
		}
	}
}

func (c *frameCounter) add(pkt *rtp.Packet, viaRTX bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.frames[pkt.Timestamp]
	if f == nil {
		f = &frameSeen{first: -1, last: -1, seqs: map[uint16]bool{}}
		c.frames[pkt.Timestamp] = f
	}
	f.seqs[pkt.SequenceNumber] = true
	if len(pkt.Payload) > 0 && pkt.Payload[0]&0x10 != 0 {
		f.first = int(pkt.SequenceNumber)
	}
	if pkt.Marker {
		f.last = int(pkt.SequenceNumber)
	}
	if int32(pkt.Timestamp-c.newest) > 0 || len(c.frames) == 1 {
		c.newest = pkt.Timestamp
	}
	if viaRTX {
		c.repaired++
	}
}

// settled counts the frames older than half a second before the newest, and those
// of them that are complete.
func (c *frameCounter) settled() (frames, complete, repaired int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ts, f := range c.frames {
		if int32(c.newest-ts) > 45000 {
			frames++
			if f.complete() {
				complete++
			}
		}
	}
	return frames, complete, c.repaired
}

// publishLive joins name to room with a VP8 camera on which it sends frames, 30 a
// second, until the test ends, and counts the keyframe requests it gets.
func publishLive(t *testing.T, rooms *Rooms, room RoomID, name string) (*pionPeer, *atomic.Int64) {
	t.Helper()
	p := joinPion(t, rooms, room, name, pionAPI(t, nil, nil), nil)
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", name)
	if err != nil {
		t.Fatal(err)
	}
	plis := new(atomic.Int64)
	p.publishWith(map[Source]webrtc.TrackLocal{SourceCamera: video}, func(s *webrtc.RTPSender) {
		for {
			pkts, _, err := s.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
					plis.Add(1)
				}
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sendFramesLive(ctx, video) }()
	t.Cleanup(func() { cancel(); <-done })
	return p, plis
}

// TestVideoDecodesThroughLoss: with 5 % of the packets to one subscriber lost, its
// video still arrives whole (frames complete, repaired by retransmissions on the RTX
// stream), the NACKs and retransmissions are counted, and the publisher, though the
// subscriber asks for a keyframe ten times a second, gets at most one request a
// second.
func TestVideoDecodesThroughLoss(t *testing.T) {
	rooms := newPionRooms(t, Config{})
	alice, plis := publishLive(t, rooms, "loss", "alice")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	link := &lossyLink{rate: 0.05, rnd: rand.New(rand.NewPCG(1, 2))}
	frames := &frameCounter{frames: map[uint32]*frameSeen{}}
	lossyAPI := pionAPI(t, nil, func(m *webrtc.MediaEngine, r *interceptor.Registry) error {
		r.Add(link) // first: the NACK generator sees only what the link let through
		gen, err := nack.NewGeneratorInterceptor()
		if err != nil {
			return err
		}
		r.Add(gen)
		return nil
	})
	var bob *pionPeer
	bob = joinPion(t, rooms, "loss", "bob", lossyAPI, func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		wg.Add(1)
		go func() { // a decoder that asks for a keyframe ten times a second
			defer wg.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					_ = bob.sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
				}
			}
		}()
		for {
			pkt, attrs, err := track.ReadRTP()
			if err != nil {
				return
			}
			frames.add(pkt, attrs.Get(webrtc.AttributeRtxPayloadType) != nil)
		}
	})
	started := time.Now()
	pollUntil(t, 30*time.Second, func() (bool, string) {
		n, complete, repaired := frames.settled()
		if n < 90 || repaired == 0 {
			return false, fmt.Sprintf("bob has %d frames settled, %d packets repaired on the RTX stream; want 90 and some", n, repaired)
		}
		if n-complete > n/50 {
			return false, fmt.Sprintf("%d of bob's %d frames are incomplete, want at most 2 %%", n-complete, n)
		}
		return true, ""
	})
	elapsed := time.Since(started)

	var track *Track
	alice.p.room.ops.do(func() { track = alice.p.room.find(alice.p.id).tracks[0] })
	st := track.mediaStats()
	if st.NACKs == 0 || st.Retransmissions == 0 {
		t.Errorf("NACKs %d, retransmissions %d counted; want some of each", st.NACKs, st.Retransmissions)
	}
	if n, most := plis.Load(), int64(elapsed/time.Second)+2; n > most {
		t.Errorf("alice got %d keyframe requests in %v, want at most %d (one a second)", n, elapsed.Round(time.Millisecond), most)
	}
}
