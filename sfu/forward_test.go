package sfu

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu/bwe"
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
	ssrc, rtx webrtc.SSRC // rtx: the retransmission stream's, 0 for none
	writer    webrtc.TrackLocalWriter
	exts      []webrtc.RTPHeaderExtensionParameter
}

func (c bindContext) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}},
		{PayloadType: 100, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}},
		{PayloadType: 101, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, SDPFmtpLine: "apt=100"}},
	}
}
func (c bindContext) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c bindContext) SSRCRetransmission() webrtc.SSRC                        { return c.rtx }
func (c bindContext) WriteStream() webrtc.TrackLocalWriter                   { return c.writer }
func (c bindContext) RTCPReader() interceptor.RTCPReader                     { return nil }
func (c bindContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return c.exts }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestTrack is a VP8 track with n bound down-tracks writing to marshalWriters.
func newTestTrack(tb testing.TB, n int) (*Track, []*marshalWriter) {
	return newTestTrackTWCC(tb, n, false)
}

// twccTestID is the TWCC header extension's id in tests' subscriber connections.
const twccTestID = 5

// newTestTrackTWCC is newTestTrack whose subscribers, with twcc, negotiated TWCC:
// each has an estimator, and its packets are numbered.
func newTestTrackTWCC(tb testing.TB, n int, twcc bool) (*Track, []*marshalWriter) {
	info := TrackInfo{ID: "t", Participant: "p", Kind: webrtc.RTPCodecTypeVideo, Source: SourceCamera}
	codec := webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}}
	t := newTrack(info, codec, 1234, func([]rtcp.Packet) error { return nil }, quietLogger())
	writers := make([]*marshalWriter, n)
	for i := range writers {
		writers[i] = &marshalWriter{}
		d := newDownTrack(t)
		ctx := bindContext{ssrc: webrtc.SSRC(5000 + i), writer: writers[i]}
		if twcc {
			d.twcc = bwe.New()
			ctx.exts = []webrtc.RTPHeaderExtensionParameter{{URI: sdp.TransportCCURI, ID: twccTestID}}
		}
		got, err := d.Bind(ctx)
		if err != nil || got.PayloadType != 100 {
			tb.Fatalf("bind: %v %v", got, err)
		}
	}
	return t, writers
}

// testPacket is a marshalled VP8 keyframe packet with a header extension, as
// browsers send them.
func testPacket(tb testing.TB) []byte {
	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 7, Timestamp: 9000, SSRC: 1234, Marker: true},
		Payload: make([]byte, 1100),
	}
	pkt.Payload[0] = 0x10 // start of partition 0; the frame tag's P bit clear: a keyframe
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

// TestForwardNumbersPacketsForTWCC: a subscriber that negotiated TWCC gets each
// packet with the one header extension it agreed to, numbered in its connection's
// transport-wide sequence; the publisher's extensions are still not passed on.
func TestForwardNumbersPacketsForTWCC(t *testing.T) {
	track, writers := newTestTrackTWCC(t, 2, true)
	var pkt rtp.Packet
	raw := testPacket(t)
	for want := range uint16(3) {
		track.forward(&pkt, raw)
		for i, w := range writers {
			var got rtp.Packet
			if err := got.Unmarshal(w.buf[:]); err != nil {
				t.Fatal(err)
			}
			ext := got.GetExtension(twccTestID)
			if len(got.Extensions) != 1 || len(ext) != 2 || binary.BigEndian.Uint16(ext) != want {
				t.Errorf("packet %d to down-track %d: extensions %v, want only the transport-wide sequence number %d", want, i, got.Extensions, want)
			}
		}
	}
}

func TestForwardAllocatesNothing(t *testing.T) {
	for _, twcc := range []bool{false, true} {
		track, writers := newTestTrackTWCC(t, 100, twcc)
		raw := testPacket(t)
		var pkt rtp.Packet
		if allocs := testing.AllocsPerRun(1000, func() { track.forward(&pkt, raw) }); allocs != 0 {
			t.Fatalf("forwarding one packet to 100 down-tracks (TWCC %v) allocates %v times", twcc, allocs)
		}
		if writers[99].packets == 0 {
			t.Fatal("nothing was forwarded")
		}
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
	for _, c := range []struct {
		n    int
		twcc bool
	}{{10, false}, {100, false}, {100, true}} {
		name := fmt.Sprintf("downtracks=%d", c.n)
		if c.twcc {
			name += "/twcc"
		}
		n := c.n
		b.Run(name, func(b *testing.B) {
			track, _ := newTestTrackTWCC(b, n, c.twcc)
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

// vp8Packet is a marshalled VP8 packet with sequence number seq; keyframe sets the
// payload's keyframe bits.
func vp8Packet(tb testing.TB, seq uint16, ts uint32, keyframe bool) []byte {
	payload := make([]byte, 100)
	payload[0] = 0x10 // start of partition 0
	payload[1] = 0x01 // inter frame
	if keyframe {
		payload[1] = 0x00
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 1234}, Payload: payload}
	b, err := pkt.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// recordingWriter keeps the headers of the packets written to it.
type recordingWriter struct{ headers []rtp.Header }

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.headers = append(w.headers, *h)
	return h.MarshalSize() + len(payload), nil
}
func (w *recordingWriter) Write(b []byte) (int, error) { return len(b), nil }

func TestNACKIsAnsweredFromTheTrackCache(t *testing.T) {
	track, _ := newTestTrack(t, 0)
	w := &recordingWriter{}
	d := newDownTrack(track)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	for seq := uint16(100); seq < 110; seq++ {
		track.forward(&pkt, vp8Packet(t, seq, 3000, seq == 100))
	}
	d.handleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{103, 105, 200})}})
	if len(w.headers) != 12 {
		t.Fatalf("wrote %d packets, want 10 and 2 retransmissions", len(w.headers))
	}
	for i, want := range []uint16{103, 105} {
		if h := w.headers[10+i]; h.SequenceNumber != want || h.SSRC != 42 || h.PayloadType != 100 {
			t.Errorf("retransmission %d: %+v, want seq %d", i, h, want)
		}
	}
	if sent, missed := d.Retransmitted(); sent != 2 || missed != 1 {
		t.Errorf("retransmitted %d, missed %d; want 2 and 1", sent, missed)
	}
}

func TestSwitchContinuesSequenceAtKeyframe(t *testing.T) {
	first, _ := newTestTrack(t, 0)
	second, _ := newTestTrack(t, 0)
	w := &recordingWriter{}
	d := newViewerDownTrack("video", "s", webrtc.RTPCodecTypeVideo, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	d.switchTo(first)
	first.forward(&pkt, vp8Packet(t, 500, 9000, false)) // dropped: not a keyframe
	first.forward(&pkt, vp8Packet(t, 501, 9000, true))
	first.forward(&pkt, vp8Packet(t, 502, 12000, false))
	d.switchTo(second)
	first.forward(&pkt, vp8Packet(t, 503, 15000, false)) // the old source: dropped
	second.forward(&pkt, vp8Packet(t, 7, 100, false))    // dropped: not a keyframe
	second.forward(&pkt, vp8Packet(t, 8, 100, true))
	second.forward(&pkt, vp8Packet(t, 9, 3100, false))
	var seqs []uint16
	for _, h := range w.headers {
		seqs = append(seqs, h.SequenceNumber)
	}
	if fmt.Sprint(seqs) != "[501 502 503 504]" {
		t.Fatalf("sent sequence numbers %v, want [501 502 503 504]", seqs)
	}
	if ts := w.headers[2].Timestamp; ts <= 12000 || w.headers[3].Timestamp-ts != 3000 {
		t.Errorf("timestamps after the switch: %d, %d; want past 12000 and 3000 apart", ts, w.headers[3].Timestamp)
	}
	if first.DownTracks() != 0 || second.DownTracks() != 1 {
		t.Errorf("down-tracks attached: first %d, second %d", first.DownTracks(), second.DownTracks())
	}
	// A NACK for a packet of the old source is not answered with the new one's.
	d.handleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{502, 504})}})
	if n := len(w.headers); n != 5 || w.headers[4].SequenceNumber != 504 {
		t.Errorf("after NACK of 502 and 504: %d packets, last %+v", n, w.headers[n-1])
	}
}
