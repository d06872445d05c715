package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestStatsCountWhatTracksForwardAndKeepItWhenTheyEnd(t *testing.T) {
	e := &Engine{}
	track, _ := newTestTrack(t, 2)
	e.trackStarted(track)
	raw := testPacket(t)
	var pkt rtp.Packet
	for range 3 {
		track.forward(&pkt, raw)
	}
	track.setMuted(true)
	track.forward(&pkt, raw)

	want := MediaStats{PacketsIn: 4, BytesIn: 4 * uint64(len(raw)), PacketsOut: 6, BytesOut: 6 * (12 + 1100)}
	want.Dropped[DropMuted] = 1
	want.KeyframeRequests = 1 // the first bind's; the second's waits for the interval
	want.FastStarts = 2       // each down-track starts from the keyframe cached by then
	st := e.Stats()
	if st.Video != want || st.Audio != (MediaStats{}) {
		t.Errorf("live: video %+v audio %+v, want video %+v", st.Video, st.Audio, want)
	}
	if n := st.Tracks[TrackClass{Kind: webrtc.RTPCodecTypeVideo, Source: SourceCamera}]; n != 1 || len(st.Tracks) != 1 {
		t.Errorf("tracks %v, want one video camera track", st.Tracks)
	}

	e.trackEnded(track)
	track.forward(&pkt, raw) // after its end: not counted
	st = e.Stats()
	if st.Video != want || len(st.Tracks) != 0 {
		t.Errorf("ended: video %+v tracks %v, want video %+v and no tracks", st.Video, st.Tracks, want)
	}
}

func TestStatsCountNACKs(t *testing.T) {
	e := &Engine{}
	track, _ := newTestTrack(t, 1)
	e.trackStarted(track)
	forwardRun(t, track, 100, 10)
	d := (*track.downs.Load())[0]
	// 5 cached, 1 long gone (never sent).
	d.handleRTCP(nackOf([]uint16{100, 101, 102, 103, 104, 50}))
	st := e.Stats().Video
	if st.NACKs != 6 || st.Retransmissions != 5 || st.Dropped[DropNotCached] != 1 {
		t.Errorf("nacks %d, retransmissions %d, not cached %d; want 6, 5, 1", st.NACKs, st.Retransmissions, st.Dropped[DropNotCached])
	}
}

type recordTimings struct{ first []time.Duration }

func (r *recordTimings) ICEConnected(Side, time.Duration) {}
func (r *recordTimings) FirstMedia(d time.Duration)       { r.first = append(r.first, d) }

func TestFirstMediaIsReportedOnce(t *testing.T) {
	track, _ := newTestTrack(t, 1)
	rec := &recordTimings{}
	first := &firstMedia{joined: time.Now().Add(-time.Second), timings: rec}
	(*track.downs.Load())[0].first = first
	raw := testPacket(t)
	var pkt rtp.Packet
	for range 3 {
		track.forward(&pkt, raw)
	}
	if len(rec.first) != 1 || rec.first[0] < time.Second {
		t.Errorf("first media reported %v, want once, at least 1s", rec.first)
	}
}
