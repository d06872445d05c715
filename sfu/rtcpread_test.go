package sfu

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// TestReadRTCPSkipsMalformed: a datagram that does not decode is skipped, the ones
// after it are handled, raw sees every datagram first, and the loop ends with the
// stream.
func TestReadRTCPSkipsMalformed(t *testing.T) {
	pli, err := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 7}})
	if err != nil {
		t.Fatal(err)
	}
	badNACK := []byte{0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 7} // a NACK with no FCI
	datagrams := [][]byte{badNACK, pli, {0x80}}
	read := func(b []byte) (int, interceptor.Attributes, error) {
		if len(datagrams) == 0 {
			return 0, nil, io.EOF
		}
		n := copy(b, datagrams[0])
		datagrams = datagrams[1:]
		return n, nil, nil
	}
	var raws int
	var handled []rtcp.Packet
	readRTCP(read, quietLogger(), func([]byte) bool { raws++; return true }, func(p []rtcp.Packet) { handled = append(handled, p...) })
	if raws != 3 {
		t.Errorf("raw saw %d datagrams, want 3", raws)
	}
	if len(handled) != 1 {
		t.Fatalf("handled %v, want the PLI alone", handled)
	}
	if p, ok := handled[0].(*rtcp.PictureLossIndication); !ok || p.MediaSSRC != 7 {
		t.Errorf("handled %v, want the PLI", handled[0])
	}
}

// TestMalformedRTCPLeavesFeedbackWorking: a subscriber that sends a malformed RTCP
// packet (a NACK without its FCI, which Pion routes to the down-track and cannot
// decode) still has its keyframe requests after it reach the publisher.
func TestMalformedRTCPLeavesFeedbackWorking(t *testing.T) {
	rooms := newPionRooms(t, Config{})
	_, plis := publishLive(t, rooms, "rtcp", "alice")
	var ssrc atomic.Uint32
	var packets atomic.Int64
	bob := joinPion(t, rooms, "rtcp", "bob", pionAPI(t, nil, nil), func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		ssrc.Store(uint32(track.SSRC()))
		for {
			if _, _, err := track.ReadRTP(); err != nil {
				return
			}
			packets.Add(1)
		}
	})
	pollUntil(t, 20*time.Second, func() (bool, string) {
		return packets.Load() > 30, fmt.Sprintf("bob has %d packets of alice's video", packets.Load())
	})
	bad := rtcp.RawPacket{0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0} // a NACK with no FCI
	bad[8], bad[9], bad[10], bad[11] = byte(ssrc.Load()>>24), byte(ssrc.Load()>>16), byte(ssrc.Load()>>8), byte(ssrc.Load())
	if err := bob.sub.WriteRTCP([]rtcp.Packet{&bad}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the malformed packet is read first
	before := plis.Load()
	pollUntil(t, 10*time.Second, func() (bool, string) {
		err := bob.sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc.Load()}})
		if errors.Is(err, io.ErrClosedPipe) {
			return false, "bob's connection closed"
		}
		return plis.Load() > before, fmt.Sprintf("alice got %d keyframe requests after bob's malformed RTCP, want more than %d", plis.Load(), before)
	})
}
