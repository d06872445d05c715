package sfu

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// marshalWriter stands in for a subscriber's write stream: it serializes each packet
// into a buffer of its own, the least work a real stream does before encrypting.
type marshalWriter struct {
	buf     [maxPacketSize]byte
	packets int
}

func (w *marshalWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	n, err := h.MarshalTo(w.buf[:])
	if err != nil {
		return 0, err
	}
	n += copy(w.buf[n:], payload)
	w.packets++
	return n, nil
}

func (w *marshalWriter) Write(b []byte) (int, error) { return len(b), nil }

// bindContext is the part of webrtc.TrackLocalContext a DownTrack uses.
type bindContext struct {
	webrtc.TrackLocalContext
	ssrc   webrtc.SSRC
	writer webrtc.TrackLocalWriter
}

func (c bindContext) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}},
		{PayloadType: 100, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}},
	}
}
func (c bindContext) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c bindContext) WriteStream() webrtc.TrackLocalWriter                   { return c.writer }
func (c bindContext) RTCPReader() interceptor.RTCPReader                     { return nil }
func (c bindContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestTrack is a VP8 track with n bound down-tracks writing to marshalWriters.
func newTestTrack(tb testing.TB, n int) (*Track, []*marshalWriter) {
	info := TrackInfo{ID: "t", Participant: "p", Kind: webrtc.RTPCodecTypeVideo, Source: SourceCamera}
	codec := webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}}
	t := newTrack(info, codec, 1234, func([]rtcp.Packet) error { return nil }, quietLogger())
	writers := make([]*marshalWriter, n)
	for i := range writers {
		writers[i] = &marshalWriter{}
		d := newDownTrack(t)
		got, err := d.Bind(bindContext{ssrc: webrtc.SSRC(5000 + i), writer: writers[i]})
		if err != nil || got.PayloadType != 100 {
			tb.Fatalf("bind: %v %v", got, err)
		}
	}
	return t, writers
}

// testPacket is a marshalled VP8 packet with a header extension, as browsers send
// them.
func testPacket(tb testing.TB) []byte {
	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 7, Timestamp: 9000, SSRC: 1234, Marker: true},
		Payload: make([]byte, 1100),
	}
	if err := pkt.SetExtension(3, []byte{1, 2, 3}); err != nil {
		tb.Fatal(err)
	}
	b, err := pkt.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestForwardRewritesPerSubscriber(t *testing.T) {
	track, writers := newTestTrack(t, 3)
	var pkt rtp.Packet
	track.forward(&pkt, testPacket(t))
	for i, w := range writers {
		var got rtp.Packet
		if err := got.Unmarshal(w.buf[:]); err != nil {
			t.Fatal(err)
		}
		if got.SSRC != uint32(5000+i) || got.PayloadType != 100 || got.Extension || got.SequenceNumber != 7 || got.Timestamp != 9000 || !got.Marker {
			t.Errorf("down-track %d sent %v", i, got.Header)
		}
	}
}

func TestForwardAllocatesNothing(t *testing.T) {
	track, writers := newTestTrack(t, 100)
	raw := testPacket(t)
	var pkt rtp.Packet
	if allocs := testing.AllocsPerRun(1000, func() { track.forward(&pkt, raw) }); allocs != 0 {
		t.Fatalf("forwarding one packet to 100 down-tracks allocates %v times", allocs)
	}
	if writers[99].packets == 0 {
		t.Fatal("nothing was forwarded")
	}
}

func TestDetachStopsForwarding(t *testing.T) {
	track, writers := newTestTrack(t, 2)
	downs := *track.downs.Load()
	if err := downs[0].Unbind(nil); err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	track.forward(&pkt, testPacket(t))
	if writers[0].packets != 0 || writers[1].packets != 1 || track.DownTracks() != 1 {
		t.Fatalf("after unbinding the first: packets %d, %d; down-tracks %d", writers[0].packets, writers[1].packets, track.DownTracks())
	}
}

// BenchmarkForward measures the forward path: parse one packet from the publisher and
// write it to every down-track (header rewrite and serialization, no encryption).
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			track, _ := newTestTrack(b, n)
			raw := testPacket(b)
			var pkt rtp.Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for b.Loop() {
				track.forward(&pkt, raw)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/downtrack")
		})
	}
}
