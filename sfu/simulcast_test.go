package sfu

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu/layer"
)

// newSimulcastTrack is a VP8 track of three layers (q, h, f), each with its SSRC
// (1000, 1001, 1002), and the keyframe requests sent to each (by SSRC).
func newSimulcastTrack(tb testing.TB) (*Track, []*Track, map[uint32]int) {
	asked := map[uint32]int{}
	send := func(pkts []rtcp.Packet) error {
		for _, p := range pkts {
			if pli, ok := p.(*rtcp.PictureLossIndication); ok {
				asked[pli.MediaSSRC]++
			}
		}
		return nil
	}
	info := TrackInfo{ID: "t", Participant: "p", Kind: webrtc.RTPCodecTypeVideo, Source: SourceCamera}
	codec := webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	root := newTrack(info, codec, 1001, send, quietLogger())
	newSimulcast(root, []string{"q", "h", "f"}, "h")
	q, f := root.addLayer("q", 1000), root.addLayer("f", 1002)
	if q == nil || f == nil || root.addLayer("f", 1003) != nil || root.addLayer("x", 1004) != nil {
		tb.Fatal("layers not added once each")
	}
	return root, []*Track{q, root, f}, asked
}

// simPacket is a VP8 packet of layer l with a 15-bit picture id.
func simPacket(tb testing.TB, l int, seq uint16, ts uint32, pic uint16, keyframe bool) []byte {
	payload := make([]byte, 100)
	payload[0], payload[1] = 0x90, 0x80 // X, start of partition 0; I
	binary.BigEndian.PutUint16(payload[2:], 0x8000|pic)
	payload[4] = 0x01 // inter frame
	if keyframe {
		payload[4] = 0x00
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: uint32(1000 + l)}, Payload: payload}
	b, err := pkt.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestLayerSwitchAtKeyframe: a down-track moves to its new target only at the
// target's keyframe, asks that layer (its SSRC) for one, and sends one continuous
// stream: sequence numbers, timestamps forward, picture ids one by one. The
// layers' shared payloads are left as they came.
func TestLayerSwitchAtKeyframe(t *testing.T) {
	root, layers, asked := newSimulcastTrack(t)
	w := &payloadWriter{}
	d := newDownTrack(root)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	if d.TargetLayer() != 2 || asked[1002] != 1 {
		t.Fatalf("target %d, keyframe requests %v: want the top layer, asked of it", d.TargetLayer(), asked)
	}
	var pkt rtp.Packet
	fwd := func(l int, seq uint16, ts uint32, pic uint16, key bool) {
		raw := simPacket(t, l, seq, ts, pic, key)
		orig := string(raw)
		layers[l].forward(&pkt, raw)
		if string(raw) != orig {
			t.Fatalf("layer %d's packet %d was changed", l, seq)
		}
	}
	fwd(2, 100, 9000, 50, true) // f: sent
	fwd(0, 700, 1000, 9, true)  // q: not the target
	fwd(2, 101, 12000, 51, false)
	d.SetLayer(0)
	if asked[1000] != 1 {
		t.Fatalf("keyframe requests %v: want one of q", asked)
	}
	fwd(0, 701, 4000, 10, false)  // q, not a keyframe: f goes on
	fwd(2, 102, 15000, 52, false) // f: still sent
	fwd(0, 702, 7000, 11, true)   // q's keyframe: the switch
	fwd(2, 103, 18000, 53, false) // f: no more
	fwd(0, 703, 10000, 12, false)
	d.SetLayer(layer.None)
	fwd(0, 704, 13000, 13, true)   // paused
	fwd(1, 299, 16000, 399, false) // h flows
	d.SetLayer(1)
	fwd(1, 300, 50, 400, false) // h, waiting for its keyframe
	fwd(1, 301, 3050, 401, true)
	var got []string
	for _, p := range w.packets {
		got = append(got, fmt.Sprintf("%d/%d", p.SequenceNumber, binary.BigEndian.Uint16(p.Payload[2:])&0x7fff))
	}
	if want := "[100/50 101/51 102/52 103/53 104/54 105/55]"; fmt.Sprint(got) != want {
		t.Errorf("sent seq/picture id %v, want %s", got, want)
	}
	for i := 1; i < len(w.packets); i++ {
		if int32(w.packets[i].Timestamp-w.packets[i-1].Timestamp) < 0 {
			t.Errorf("timestamp %d after %d", w.packets[i].Timestamp, w.packets[i-1].Timestamp)
		}
	}
	if l := d.Layer(); l != layers[1] {
		t.Errorf("forwarding %v, want h", l)
	}
}

// payloadWriter keeps the packets written to it, payloads copied.
type payloadWriter struct{ packets []rtp.Packet }

func (w *payloadWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.packets = append(w.packets, rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)})
	return h.MarshalSize() + len(payload), nil
}
func (w *payloadWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestSimulcastForwardAllocatesNothing: forwarding a simulcast layer to 100
// down-tracks, the VP8 rewrite included, allocates nothing.
func TestSimulcastForwardAllocatesNothing(t *testing.T) {
	root, layers, _ := newSimulcastTrack(t)
	writers := make([]*marshalWriter, 100)
	for i := range writers {
		writers[i] = &marshalWriter{}
		d := newDownTrack(root)
		if _, err := d.Bind(bindContext{ssrc: webrtc.SSRC(5000 + i), writer: writers[i]}); err != nil {
			t.Fatal(err)
		}
	}
	key, other := simPacket(t, 2, 1, 0, 1, true), simPacket(t, 0, 1, 0, 1, true)
	var pkt rtp.Packet
	layers[2].forward(&pkt, key)
	if allocs := testing.AllocsPerRun(1000, func() {
		layers[2].forward(&pkt, key)
		layers[0].forward(&pkt, other)
	}); allocs != 0 {
		t.Fatalf("forwarding to 100 down-tracks allocates %v times", allocs)
	}
	if writers[99].packets == 0 {
		t.Fatal("nothing was forwarded")
	}
}

func TestRidsOf(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"q send", "h send", "f send"}, []string{"q", "h", "f"}},
		{[]string{"q send pt=96", "h send"}, []string{"q", "h"}},
		{[]string{"q send"}, nil},
		{[]string{"q recv", "h recv"}, nil},
		{[]string{"a send", "b send", "c send", "d send", "e send"}, nil},
		{[]string{"q send", "q send"}, nil},
	}
	for _, c := range cases {
		if got := ridsOf(c.in); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
}

// TestStartsFromAFlowingLayer: a down-track that wants the top layer while only the
// lowest one flows (the publisher stopped the others) starts with the lowest, and
// moves up at the top layer's first keyframe.
func TestStartsFromAFlowingLayer(t *testing.T) {
	root, layers, asked := newSimulcastTrack(t)
	var pkt rtp.Packet
	layers[0].forward(&pkt, simPacket(t, 0, 10, 0, 1, true))
	w := &payloadWriter{}
	d := newDownTrack(root)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	if d.Layer() != layers[0] || d.TargetLayer() != 2 {
		t.Fatalf("started with %v wanting %d; want q wanting f", d.Layer(), d.TargetLayer())
	}
	if asked[1000] != 0 {
		t.Errorf("keyframe requests %v: q's cached keyframe is fresh, none needed", asked)
	}
	layers[0].forward(&pkt, simPacket(t, 0, 11, 3000, 2, false))
	layers[2].forward(&pkt, simPacket(t, 2, 500, 7000, 90, true))
	layers[0].forward(&pkt, simPacket(t, 0, 12, 6000, 3, false))
	var seqs []uint16
	for _, p := range w.packets {
		seqs = append(seqs, p.SequenceNumber)
	}
	if fmt.Sprint(seqs) != "[10 11 12]" || d.Layer() != layers[2] {
		t.Errorf("sent %v, forwarding %v; want [10 11 12] (q's two, then f's keyframe) and f", seqs, d.Layer())
	}
}

// TestFallsBackFromALayerThatStops: a down-track on f whose f stops arriving (its
// publisher turned it off, or dropped it for its own bandwidth) aims at h, the best
// layer still flowing, asks it for a keyframe and moves there at it; once f arrives
// again it goes back to f at f's keyframe. Each move is forwarded without a gap in
// the numbering.
func TestFallsBackFromALayerThatStops(t *testing.T) {
	root, layers, asked := newSimulcastTrack(t)
	w := &payloadWriter{}
	d := newDownTrack(root)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	fwd := func(l int, seq uint16, ts uint32, key bool) {
		layers[l].forward(&pkt, simPacket(t, l, seq, ts, seq, key))
	}
	fwd(0, 10, 0, true)
	fwd(1, 20, 0, true)
	fwd(2, 30, 0, true)
	d.SetLayer(2)
	if d.Layer() != layers[2] || d.TargetLayer() != 2 {
		t.Fatalf("forwarding %v wanting %d; want f", d.Layer(), d.TargetLayer())
	}
	layers[2].recv.last.Store(time.Now().Add(-2 * flowingWithin).UnixNano()) // f stopped
	before := asked[1001]
	d.SetLayer(2)
	if d.TargetLayer() != 1 || asked[1001] != before+1 {
		t.Fatalf("target %d, keyframe requests %v; want h, asked of it", d.TargetLayer(), asked)
	}
	fwd(0, 11, 3000, true) // q: not the target
	fwd(1, 21, 3000, true) // h's keyframe: the switch
	if d.Layer() != layers[1] {
		t.Fatalf("forwarding %v; want h", d.Layer())
	}
	d.SetLayer(2) // f still stopped: stays on h
	if d.TargetLayer() != 1 {
		t.Fatalf("target %d while f is stopped; want h", d.TargetLayer())
	}
	layers[2].lastKeyframeRequest.Store(0) // a request at once, not one delayed by the throttle
	fwd(2, 31, 6000, false)                // f again
	fwd(1, 22, 6000, false)                // h goes on until f's keyframe
	d.SetLayer(2)
	if d.TargetLayer() != 2 || asked[1002] != 2 {
		t.Fatalf("target %d, keyframe requests %v once f flows again; want f, asked of it", d.TargetLayer(), asked)
	}
	fwd(2, 32, 9000, true)
	fwd(1, 23, 9000, false) // h: no more
	var seqs []uint16
	for _, p := range w.packets {
		seqs = append(seqs, p.SequenceNumber)
	}
	if fmt.Sprint(seqs) != "[30 31 32 33]" || d.Layer() != layers[2] {
		t.Errorf("sent %v, forwarding %v; want [30 31 32 33] (f's keyframe, h's two, f's keyframe) and f", seqs, d.Layer())
	}
}

// TestSwitchKeepsTheCurrentLayer: while a switch waits for its target's keyframe,
// even as the target moves (f to h to q, and back to f), the layer forwarded goes on
// being sent, packet by packet.
func TestSwitchKeepsTheCurrentLayer(t *testing.T) {
	root, layers, _ := newSimulcastTrack(t)
	w := &payloadWriter{}
	d := newDownTrack(root)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	fwd := func(l int, seq uint16, key bool) {
		layers[l].forward(&pkt, simPacket(t, l, seq, uint32(seq)*3000, seq, key))
	}
	for _, l := range []int{0, 1, 2} {
		fwd(l, 100, true)
	}
	for i, target := range []int{1, 0, 2} {
		d.SetLayer(target)
		seq := uint16(101 + i)
		for _, l := range []int{0, 1, 2} {
			fwd(l, seq, false)
		}
		if d.Layer() != layers[2] {
			t.Fatalf("target %d: forwarding %v; want f until the target's keyframe", target, d.Layer())
		}
	}
	if n := len(w.packets); n != 4 {
		t.Errorf("sent %d packets; want f's 4, none missing", n)
	}
}

// TestLowestLayerStaysActive: once no subscriber has needed any layer for
// layerIdle, the publisher is told to stop every layer but the lowest, which a
// subscriber whose bandwidth collapses falls back to; a layer needed again is
// active at once.
func TestLowestLayerStaysActive(t *testing.T) {
	root, _, _ := newSimulcastTrack(t)
	var got []string
	root.sim.report = func(active map[string]bool) {
		got = append(got, fmt.Sprintf("q:%v h:%v f:%v", active["q"], active["h"], active["f"]))
	}
	now := time.Now()
	root.sim.review(now)
	root.needLayer(2, now.Add(time.Second))
	if want := "[q:true h:false f:false q:true h:false f:true]"; fmt.Sprint(got) != want {
		t.Errorf("reported %v, want %s", got, want)
	}
}

// TestShedStopsTheCurrentLayer: a down-track told to shed the layer it forwards
// (it overflows the link) sends nothing of it while it waits for the target's
// keyframe, then goes on from that keyframe with the numbering continuous.
func TestShedStopsTheCurrentLayer(t *testing.T) {
	root, layers, _ := newSimulcastTrack(t)
	w := &payloadWriter{}
	d := newDownTrack(root)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	fwd := func(l int, seq uint16, key bool) {
		layers[l].forward(&pkt, simPacket(t, l, seq, uint32(seq)*3000, seq, key))
	}
	fwd(2, 100, true)
	fwd(0, 100, false)
	d.Shed() // nothing to shed: f is the target
	fwd(2, 101, false)
	d.SetLayer(0)
	d.Shed()
	fwd(2, 102, false) // shed
	fwd(0, 101, false) // not a keyframe
	fwd(0, 102, true)  // the switch
	var seqs []uint16
	for _, p := range w.packets {
		seqs = append(seqs, p.SequenceNumber)
	}
	if fmt.Sprint(seqs) != "[100 101 102]" || d.Layer() != layers[0] {
		t.Errorf("sent %v, forwarding %v; want [100 101 102] (f's two, q's keyframe) and q", seqs, d.Layer())
	}
}
