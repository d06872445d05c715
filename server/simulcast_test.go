package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// layerWatch receives one simulcast track and checks, packet by packet, that it is
// one stream: sequence numbers, timestamps and VP8 picture ids continuous, and a
// change of layer (of frame size) only at a keyframe.
type layerWatch struct {
	mu      sync.Mutex
	bytes   uint64
	packets uint64
	sizes   []string // the frame sizes of keyframes, each change once
	faults  []string
	started bool
	lastSeq uint16
	lastTS  uint32
	lastPic uint16
}

func (w *layerWatch) read(track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		w.observe(&pkt, n)
	}
}

func (w *layerWatch) fault(format string, args ...any) {
	if len(w.faults) < 10 {
		w.faults = append(w.faults, fmt.Sprintf(format, args...))
	}
}

func (w *layerWatch) observe(pkt *rtp.Packet, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes += uint64(n)
	w.packets++
	p := pkt.Payload
	if len(p) < 4 || p[0]&0x80 == 0 || p[1]&0x80 == 0 || p[2]&0x80 == 0 {
		w.fault("packet %d: no 15-bit picture id", pkt.SequenceNumber)
		return
	}
	pic := binary.BigEndian.Uint16(p[2:]) & 0x7fff
	start := p[0]&0x10 != 0
	key := start && len(p) > 4 && p[4]&0x01 == 0
	if w.started {
		if pkt.SequenceNumber != w.lastSeq+1 {
			w.fault("sequence %d after %d", pkt.SequenceNumber, w.lastSeq)
		}
		if int32(pkt.Timestamp-w.lastTS) < 0 {
			w.fault("timestamp %d after %d", pkt.Timestamp, w.lastTS)
		}
		if d := (pic - w.lastPic) & 0x7fff; d > 1 || (d == 1) != start {
			w.fault("picture id %d after %d (start of frame %v)", pic, w.lastPic, start)
		}
	} else if !key {
		w.fault("the first packet is not a keyframe's")
	}
	if key {
		size := fmt.Sprintf("%dx%d", binary.LittleEndian.Uint16(p[10:])&0x3fff, binary.LittleEndian.Uint16(p[12:])&0x3fff)
		if len(w.sizes) == 0 || w.sizes[len(w.sizes)-1] != size {
			w.sizes = append(w.sizes, size)
		}
	} else if start && len(w.sizes) == 0 {
		w.fault("an inter frame before any keyframe")
	}
	w.started, w.lastSeq, w.lastTS, w.lastPic = true, pkt.SequenceNumber, pkt.Timestamp, pic
}

// state is the watch's byte count, sizes seen and faults.
func (w *layerWatch) state() (uint64, []string, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytes, append([]string(nil), w.sizes...), append([]string(nil), w.faults...)
}

// lastSize is the frame size of the last keyframe received.
func (w *layerWatch) lastSize() string {
	_, sizes, _ := w.state()
	if len(sizes) == 0 {
		return ""
	}
	return sizes[len(sizes)-1]
}

// rateOver is the bytes a second received over d, measured from now.
func (w *layerWatch) rateOver(d time.Duration) uint64 {
	b0, _, _ := w.state()
	time.Sleep(d)
	b1, _, _ := w.state()
	return uint64(float64(b1-b0) / d.Seconds())
}

// events collects the server's messages of one client by type.
type events struct {
	mu   sync.Mutex
	seen []client.Event
}

func (e *events) collect(c *client.Client) {
	for {
		select {
		case m := <-c.Events():
			e.mu.Lock()
			e.seen = append(e.seen, m)
			e.mu.Unlock()
		case <-c.Done():
			return
		}
	}
}

func (e *events) last(typ string) (client.Event, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.seen) - 1; i >= 0; i-- {
		if e.seen[i].Type == typ {
			return e.seen[i], true
		}
	}
	return client.Event{}, false
}

// TestSimulcastFollowsTheView publishes a synthetic simulcast camera (q 320x180,
// h 640x360, f 1280x720) and has a subscriber show it large, small, hidden and
// large again: it receives f, then q (far fewer bytes), then nothing, then f,
// each switch at a keyframe with numbering and picture ids continuous, told by
// track-layer; and once no one needs f the publisher is told to stop sending it.
func TestSimulcastFollowsTheView(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pub, err := client.Join(ctx, ts.signalURL(ts.mode), "sim", "pub", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var pubEvents events
	go pubEvents.collect(pub)
	sim, err := pub.PublishSimulcast(ctx, "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	var active sync.Map // rid -> bool, as publish-layers said
	isActive := func(rid string) bool {
		v, ok := active.Load(rid)
		return !ok || v.(bool)
	}
	mediaCtx, stopMedia := context.WithCancel(ctx)
	var mediaDone sync.WaitGroup
	mediaDone.Add(1)
	go func() { defer mediaDone.Done(); sim.Send(mediaCtx, 2_000_000, isActive) }()
	defer mediaDone.Wait()
	defer stopMedia()
	go func() { // drain the sender's RTCP
		for {
			if _, _, err := sim.Sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()

	watch := &layerWatch{}
	var trackID atomic.Value
	sub, err := client.Join(ctx, ts.signalURL(ts.mode), "sim", "sub", client.Options{
		OnTrack: func(info wire.Track, track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			trackID.Store(info.ID)
			if len(info.Layers) != 3 {
				t.Errorf("track %s has layers %v, want q h f", info.ID, info.Layers)
			}
			watch.read(track)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var subEvents events
	go subEvents.collect(sub)

	waitLayer := func(size, rid string, paused bool) {
		t.Helper()
		waitFor(t, 20*time.Second, func() (bool, string) {
			m, ok := subEvents.last(wire.TypeTrackLayer)
			l := m.TrackLayer()
			if !ok || l.Layer != rid || l.Paused != paused {
				return false, fmt.Sprintf("last track-layer %+v, want layer %q paused %v", l, rid, paused)
			}
			if size != "" && watch.lastSize() != size {
				return false, fmt.Sprintf("receiving %q, want %s", watch.lastSize(), size)
			}
			return true, ""
		})
	}
	// No view yet: the best layer.
	waitLayer("1280x720", "f", false)
	large := watch.rateOver(2 * time.Second)
	id := trackID.Load().(string)

	// A small tile: the quarter layer is enough.
	if err := sub.ViewTrack(ctx, id, 320, 180, true); err != nil {
		t.Fatal(err)
	}
	waitLayer("320x180", "q", false)
	small := watch.rateOver(2 * time.Second)
	t.Logf("large tile: %d B/s, small tile: %d B/s", large, small)
	if small*3 > large {
		t.Errorf("a small tile receives %d B/s, a large one %d B/s: want under a third", small, large)
	}

	// Nobody needs f now: within the hysteresis the publisher is told so, naming the
	// track by its mid on the publisher's connection.
	var mid string
	for _, tr := range pub.PublisherConnection().GetTransceivers() {
		if tr.Sender() == sim.Sender {
			mid = tr.Mid()
		}
	}
	waitFor(t, 15*time.Second, func() (bool, string) {
		m, ok := pubEvents.last(wire.TypePublishLayers)
		a := m.PublishLayers().Active
		if !ok || a["f"] || !a["q"] {
			return false, fmt.Sprintf("last publish-layers %v, want f inactive and q active", m)
		}
		return true, ""
	})
	if m, _ := pubEvents.last(wire.TypePublishLayers); mid == "" || m.PublishLayers().Mid != mid {
		t.Errorf("publish-layers names mid %q, want the sender's %q", m.PublishLayers().Mid, mid)
	}
	for rid, on := range func() map[string]bool {
		m, _ := pubEvents.last(wire.TypePublishLayers)
		return m.PublishLayers().Active
	}() {
		active.Store(rid, on)
	}

	// Hidden: nothing at all.
	if err := sub.ViewTrack(ctx, id, 320, 180, false); err != nil {
		t.Fatal(err)
	}
	waitLayer("", "", true)
	if m, _ := subEvents.last(wire.TypeTrackLayer); m.TrackLayer().Reason != wire.PauseHidden {
		t.Errorf("paused for %q, want hidden", m.TrackLayer().Reason)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		r := watch.rateOver(time.Second)
		return r == 0, fmt.Sprintf("a hidden track still receives %d B/s", r)
	})

	// Large again: f is asked for at once and forwarded from its keyframe.
	if err := sub.ViewTrack(ctx, id, 1280, 720, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		m, ok := pubEvents.last(wire.TypePublishLayers)
		if a := m.PublishLayers().Active; !ok || !a["f"] {
			return false, fmt.Sprintf("last publish-layers %v, want f active", m)
		}
		active.Store("f", true)
		return true, ""
	})
	waitLayer("1280x720", "f", false)

	_, sizes, faults := watch.state()
	if len(faults) > 0 {
		t.Errorf("the stream received is not continuous: %v", faults)
	}
	if want := []string{"1280x720", "320x180", "1280x720"}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("keyframe sizes received %v, want %v", sizes, want)
	}
}

// TestWHIPSimulcast: a WHIP publisher sending simulcast is published with its
// layers, and a native subscriber showing it small gets the quarter layer.
func TestWHIPSimulcast(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newWHIPPeer(t)
	sim, err := client.AddSimulcast(w.pc, "video", "whip")
	if err != nil {
		t.Fatal(err)
	}
	w.negotiate(ts.URL+"/whip/wsim", false)
	mediaCtx, stopMedia := context.WithCancel(ctx)
	w.stopMedia = stopMedia
	w.media.Add(2)
	go func() { defer w.media.Done(); sim.Send(mediaCtx, 1_000_000, nil) }()
	go func() {
		defer w.media.Done()
		for {
			if _, _, err := sim.Sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()

	watch := &layerWatch{}
	var info atomic.Value
	sub, err := client.Join(ctx, ts.signalURL(ts.mode), "wsim", "sub", client.Options{
		OnTrack: func(tr wire.Track, track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			info.Store(tr)
			watch.read(track)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitFor(t, 15*time.Second, func() (bool, string) {
		return watch.lastSize() == "1280x720", fmt.Sprintf("receiving %q, want 1280x720", watch.lastSize())
	})
	tr := info.Load().(wire.Track)
	if fmt.Sprint(tr.Layers) != "[q h f]" {
		t.Errorf("track layers %v, want [q h f]", tr.Layers)
	}
	if err := sub.ViewTrack(ctx, tr.ID, 320, 180, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, func() (bool, string) {
		return watch.lastSize() == "320x180", fmt.Sprintf("receiving %q, want 320x180", watch.lastSize())
	})
	if _, _, faults := watch.state(); len(faults) > 0 {
		t.Errorf("the stream received is not continuous: %v", faults)
	}
}
