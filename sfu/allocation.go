package sfu

import (
	"cmp"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu/alloc"
)

// Stream allocation: every allocInterval, and at once when the client describes how
// it shows a track, each subscriber shares its estimated bandwidth over the tracks
// it receives (package alloc) and points each down-track at the layer chosen
// (package layer), on the subscriber's operation queue. What changes is told to the
// client (LayerObserver.TrackLayer); the layers chosen count as needed by the
// tracks' publishers (simulcast.go).

// allocInterval is how often a subscriber's allocation runs: measured bitrates and
// the estimate move on their own.
const allocInterval = 500 * time.Millisecond

// maxViewSize bounds a tile's width and height, in device pixels.
const maxViewSize = 16384

// ViewTrack records how the client shows the track with id (its tile's size in
// device pixels; visible false: not at all) and reallocates. A view of a track the
// subscriber does not receive is ignored. It returns at once.
func (s *Subscriber) ViewTrack(id TrackID, width, height int, visible bool) error {
	if width < 0 || height < 0 || width > maxViewSize || height > maxViewSize {
		return ErrBadView
	}
	v := alloc.View{Width: width, Height: height, Hidden: !visible}
	s.ops.post(func() {
		if sub := s.subscriptions[id]; sub != nil {
			sub.view = v
			s.allocate()
		}
	})
	return nil
}

// allocateLoop posts an allocation every allocInterval until the queue closes.
func (s *Subscriber) allocateLoop() {
	time.AfterFunc(allocInterval, func() {
		if s.ops.post(s.allocate) {
			s.allocateLoop()
		}
	})
}

// allocate runs the allocation on the operation queue.
func (s *Subscriber) allocate() {
	if len(s.subscriptions) == 0 {
		return
	}
	subs := make([]*subscription, 0, len(s.subscriptions))
	for _, sub := range s.subscriptions {
		subs = append(subs, sub)
	}
	// In one order each time: of tracks the allocator ranks alike, the same one wins.
	slices.SortFunc(subs, func(a, b *subscription) int { return cmp.Compare(a.down.track.info.ID, b.down.track.info.ID) })
	tracks := make([]alloc.Track, 0, len(subs))
	for _, sub := range subs {
		tracks = append(tracks, allocTrack(sub))
	}
	estimate := uint64(alloc.Unlimited)
	if s.bwe != nil {
		var sent uint64
		for _, sub := range subs {
			sent += sub.down.sentBytes()
		}
		s.bwe.Sent(sent)
		estimate = s.bwe.Estimate()
	}
	now := time.Now()
	decisions := alloc.Allocate(estimate, tracks)
	for i, dec := range decisions {
		s.apply(subs[i], dec, estimate, now)
	}
	if s.bwe != nil {
		s.bwe.SetAmple(alloc.Ample(estimate, tracks))
	}
}

// allocTrack describes sub's track for the allocator.
func allocTrack(sub *subscription) alloc.Track {
	t := sub.down.track
	at := alloc.Track{Kind: alloc.Camera, View: sub.view, Muted: t.muted.Load(), Current: alloc.Paused}
	if cur := sub.down.Layer(); cur != nil {
		at.Current = cur.quality
	}
	switch {
	case t.info.Kind == webrtc.RTPCodecTypeAudio:
		at.Kind = alloc.Audio
	case t.info.Source == SourceScreen:
		at.Kind = alloc.Screen
	}
	at.Layers = make([]alloc.Layer, t.numLayers())
	for i := range at.Layers {
		w, h := t.LayerSize(i)
		at.Layers[i] = alloc.Layer{Bitrate: t.LayerBitrate(i), Width: w, Height: h}
	}
	return at
}

// apply points sub's down-track at dec's layer, marks the layers it uses as needed,
// and tells the client when what it is forwarded changed: the layer it is forwarded
// is reported once the down-track has switched to it (at its keyframe), so that
// allocations keep telling, every allocInterval, what changed in between.
func (s *Subscriber) apply(sub *subscription, dec alloc.Decision, estimate uint64, now time.Time) {
	d, t := sub.down, sub.down.track
	if dec.Reason != alloc.Muted {
		// A muted track keeps its layer: forwarding resumes with the unmute.
		d.SetLayer(dec.Layer)
	}
	if cur := d.Layer(); cur != nil && dec.Layer != alloc.Paused && dec.Layer < cur.quality &&
		t.LayerBitrate(cur.quality) > estimate {
		// The layer forwarded alone overflows the link: it stops now, not at the
		// lower layer's keyframe (which it would hold up in the link's queue).
		d.Shed()
	}
	if dec.Layer != alloc.Paused {
		t.needLayer(dec.Layer, now)
	}
	if cur := d.Layer(); cur != nil {
		t.needLayer(cur.quality, now)
	}
	if t.info.Kind != webrtc.RTPCodecTypeVideo {
		return
	}
	report, ok := layerReport(sub, dec)
	if !ok || sub.reported != nil && *sub.reported == report {
		return
	}
	sub.reported = &report
	s.log.Debug("track layer", "track", report.Track, "layer", report.Layer, "paused", report.Paused, "reason", report.Reason)
	if obs := s.p.obs.Layers; obs != nil {
		obs.TrackLayer(report)
	}
}

// layerReport is what the client is told of sub's track after dec: the layer the
// down-track forwards now (not the target it waits to switch to), or the pause. ok
// is false while a track that is not paused forwards nothing yet (it waits for the
// first keyframe): the last report stands, unless there was none, when the target
// is reported.
func layerReport(sub *subscription, dec alloc.Decision) (r TrackLayer, ok bool) {
	t := sub.down.track
	r = TrackLayer{Track: t.info.ID, Paused: dec.Layer == alloc.Paused, Reason: pauseReasons[dec.Reason]}
	switch cur := sub.down.Layer(); {
	case r.Paused:
	case cur != nil:
		r.Layer = t.ridOf(cur.quality)
	case sub.reported != nil:
		return r, false
	default:
		r.Layer = t.ridOf(dec.Layer)
	}
	return r, true
}

var pauseReasons = map[alloc.Reason]PauseReason{
	alloc.None: PauseNone, alloc.Bandwidth: PauseBandwidth, alloc.Hidden: PauseHidden, alloc.Muted: PauseMuted,
}
