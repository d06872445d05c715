package sfu

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/vp8"
	"github.com/switchboard-rtc/switchboard/sfu/layer"
)

// Simulcast: a publisher may send one video track as several encodings ("layers"),
// each its own RTP stream named by a rid (RFC 8851), lowest quality first as its
// offer lists them. The first layer to arrive becomes the published Track (the
// root); the others join it as they arrive. Each layer reads its stream on a loop
// of its own, keeps its own packet cache (so fast start and NACKs are per layer) and
// asks for its own keyframes; all write to the root's down-tracks, and each
// down-track forwards the one layer its layer.Selector picks.

// maxLayers bounds the layers of one track: more rids are not published.
const maxLayers = 4

// simulcast is a root's record of its layers.
type simulcast struct {
	rids []string

	mu     sync.Mutex // held to add a layer
	layers atomic.Pointer[[]*Track]

	// sizes are each layer's frame size as its last keyframe gave it (width<<16 |
	// height), 0 until one is seen.
	sizes [maxLayers]atomic.Uint32

	// need is when some subscriber last needed each layer (unix nanoseconds);
	// active the layers last reported to the publisher as needed (bit i, layer i).
	need      [maxLayers]atomic.Int64
	activeMu  sync.Mutex
	active    uint32
	reported  bool
	report    func(active map[string]bool) // nil: the publisher hears nothing
	stopCheck chan struct{}
}

// ridsOf lists the rids an m-line's offer sends, in order, from the values of its
// "a=rid:<id> send [restrictions]" attributes. Fewer than two, more than maxLayers or
// a repeated one are not simulcast: nil.
func ridsOf(values []string) []string {
	var out []string
	for _, v := range values {
		id, rest, _ := strings.Cut(v, " ")
		if dir, _, _ := strings.Cut(rest, " "); dir != "send" || id == "" {
			continue
		}
		if slices.Contains(out, id) {
			return nil
		}
		out = append(out, id)
	}
	if len(out) < 2 || len(out) > maxLayers {
		return nil
	}
	return out
}

// newSimulcast is the record of a root with rids, and the root's first layer t.
func newSimulcast(t *Track, rids []string, rid string) *simulcast {
	s := &simulcast{rids: rids, stopCheck: make(chan struct{})}
	layers := make([]*Track, len(rids))
	t.rid, t.quality, t.sim = rid, slices.Index(rids, rid), s
	layers[t.quality] = t
	s.layers.Store(&layers)
	t.info.Layers = rids
	return s
}

// addLayer makes the layer rid of root, reading with ssrc; nil when root has no
// such layer or has it already.
func (root *Track) addLayer(rid string, ssrc uint32) *Track {
	s := root.sim
	i := slices.Index(s.rids, rid)
	if i < 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.layers.Load()
	if old[i] != nil {
		return nil
	}
	l := newTrack(root.info, root.codec, ssrc, root.sendRTCP, root.log.With("rid", rid))
	l.root, l.quality, l.rid, l.sim, l.fanout = root, i, rid, s, root.fanout
	next := slices.Clone(old)
	next[i] = l
	s.layers.Store(&next)
	return l
}

// numLayers is how many layers the track has (1 when not simulcast).
func (t *Track) numLayers() int {
	if t.sim == nil {
		return 1
	}
	return len(t.sim.rids)
}

// layer is the root's layer i, nil when it has not arrived (or is out of range).
func (t *Track) layer(i int) *Track {
	if t.sim == nil {
		if i == 0 {
			return t
		}
		return nil
	}
	ls := *t.sim.layers.Load()
	if i < 0 || i >= len(ls) {
		return nil
	}
	return ls[i]
}

// ridOf is the rid of the root's layer i, "" for a track of one layer.
func (t *Track) ridOf(i int) string {
	if t.sim == nil || i < 0 || i >= len(t.sim.rids) {
		return ""
	}
	return t.sim.rids[i]
}

// startLayer is the layer a down-track that wants want starts with: the nearest to
// want, below it first, that is flowing (a packet within flowingWithin), else the
// nearest that has arrived at all; nil for none (want is layer.None, or no layer has
// arrived). A layer its publisher stopped sending (publish-layers) would leave the
// subscriber without a picture until it resumes; the down-track moves to want at
// its first keyframe.
func (t *Track) startLayer(want int) *Track {
	if want == layer.None {
		return nil
	}
	if l := t.flowingNear(want, time.Now()); l != nil {
		return l
	}
	return t.nearest(want, func(*Track) bool { return true })
}

// reachable is the layer a down-track that wants want aims at now: want while it
// flows, else the nearest flowing layer, below it first, so that a layer the
// publisher stopped sending (turned off, or dropped for its own bandwidth) leaves
// the subscriber on the best one that does arrive until it comes back; want when
// none flows.
func (t *Track) reachable(want int, now time.Time) int {
	if want == layer.None {
		return want
	}
	if l := t.flowingNear(want, now); l != nil {
		return l.quality
	}
	return want
}

// flowingNear is the flowing layer nearest to want, below it first; nil for none.
func (t *Track) flowingNear(want int, now time.Time) *Track {
	at := now.UnixNano()
	return t.nearest(want, func(l *Track) bool { return at-l.recv.last.Load() < int64(flowingWithin) })
}

// nearest is the layer nearest to want, below it first, that has arrived and is ok;
// nil for none.
func (t *Track) nearest(want int, ok func(*Track) bool) *Track {
	for i := want; i >= 0; i-- {
		if l := t.layer(i); l != nil && ok(l) {
			return l
		}
	}
	for i := want + 1; i < t.numLayers(); i++ {
		if l := t.layer(i); l != nil && ok(l) {
			return l
		}
	}
	return nil
}

// flowingWithin is how recent a layer's last packet must be for it to count as
// flowing.
const flowingWithin = time.Second

// LayerBitrate is what the root's layer i arrives at now, in bits a second; 0 when
// it has not arrived or has stopped.
func (t *Track) LayerBitrate(i int) uint64 {
	l := t.layer(i)
	if l == nil {
		return 0
	}
	return rate(&l.recv.bitrate, &l.recv.last, time.Now())
}

// LayerSize is the frame size of the root's layer i as its keyframes give it, 0 x 0
// when unknown.
func (t *Track) LayerSize(i int) (width, height int) {
	if t.sim == nil || i < 0 || i >= maxLayers {
		return 0, 0
	}
	v := t.sim.sizes[i].Load()
	return int(v >> 16), int(v & 0xffff)
}

// sawKeyframe notes the frame size of a keyframe of layer l. It runs on l's forward
// loop.
func (s *simulcast) sawKeyframe(l *Track, payload []byte) {
	if w, h, ok := vp8.FrameSize(payload); ok && l.quality < maxLayers {
		s.sizes[l.quality].Store(uint32(w)<<16 | uint32(h))
	}
}

// The publisher is told which layers some subscriber needs: a layer becomes active
// as soon as one is needed, and inactive once none has been for layerIdle. The
// lowest layer is always active: it is what a subscriber whose bandwidth collapses
// falls back to, and it must be flowing then, not started (an encoder restarted
// takes a second or more to send a keyframe, while the layer the subscriber is on
// floods its link).
const (
	layerIdle      = 5 * time.Second
	layerCheckTick = time.Second
)

// needLayer notes that a subscriber needs the root's layer i now, and tells the
// publisher at once when that makes an inactive layer active.
func (t *Track) needLayer(i int, now time.Time) {
	if t.sim == nil || i < 0 || i >= len(t.sim.rids) {
		return
	}
	t.sim.need[i].Store(now.UnixNano())
	t.sim.review(now)
}

// review computes the layers needed at now and reports a change to the publisher.
func (s *simulcast) review(now time.Time) {
	active := uint32(1) // the lowest layer, always
	for i := range s.rids {
		if now.UnixNano()-s.need[i].Load() < int64(layerIdle) {
			active |= 1 << i
		}
	}
	s.activeMu.Lock()
	if s.reported && active == s.active {
		s.activeMu.Unlock()
		return
	}
	s.active, s.reported = active, true
	report := s.report
	s.activeMu.Unlock()
	if report == nil {
		return
	}
	m := make(map[string]bool, len(s.rids))
	for i, rid := range s.rids {
		m[rid] = active&(1<<i) != 0
	}
	report(m)
}

// watchLayers reviews the layers needed every layerCheckTick until the root ends
// (stopLayers), for layers no subscriber needs any more; a layer some down-track
// forwards (a WHEP viewer's too, which no allocation runs for) counts as needed.
// Until the first subscriber has needed some, every layer counts as needed for
// layerIdle from the start.
func (t *Track) watchLayers(report func(map[string]bool)) {
	s := t.sim
	now := time.Now()
	s.activeMu.Lock()
	s.report = report
	s.activeMu.Unlock()
	for i := range s.rids {
		s.need[i].Store(now.UnixNano())
	}
	go func() {
		tick := time.NewTicker(layerCheckTick)
		defer tick.Stop()
		for {
			select {
			case <-s.stopCheck:
				return
			case now := <-tick.C:
				for _, d := range *t.downs.Load() {
					if l := d.Layer(); l != nil && l.quality < maxLayers {
						s.need[l.quality].Store(now.UnixNano())
					}
				}
				s.review(now)
			}
		}
	}()
}

// stopLayers ends watchLayers; the root calls it once, when it ends.
func (t *Track) stopLayers() { close(t.sim.stopCheck) }

// requestLayerKeyframe asks the publisher for a keyframe of layer l.
func requestLayerKeyframe(l *Track) {
	if l != nil {
		l.RequestKeyframe()
	}
}
