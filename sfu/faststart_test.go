package sfu

import (
	"github.com/switchboard-rtc/switchboard/internal/vp8"

	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyframeCounter stands in for a publisher's connection: it counts the keyframe
// requests sent to it.
type keyframeCounter struct{ plis atomic.Int64 }

func (k *keyframeCounter) send(pkts []rtcp.Packet) error {
	for _, p := range pkts {
		if _, ok := p.(*rtcp.PictureLossIndication); ok {
			k.plis.Add(1)
		}
	}
	return nil
}

// newKeyframeTrack is a VP8 track with no down-track whose keyframe requests k counts.
func newKeyframeTrack(k *keyframeCounter) *Track {
	info := TrackInfo{ID: "t", Participant: "p", Kind: webrtc.RTPCodecTypeVideo, Source: SourceCamera}
	codec := webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	return newTrack(info, codec, 1234, k.send, quietLogger())
}

// gatedWriter is a subscriber's write stream whose transport connects when ready is
// set: before, it takes packets and sends nothing, as Pion's does.
type gatedWriter struct {
	recordingWriter
	ready    bool
	payloads [][]byte
}

func (w *gatedWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if !w.ready {
		return 0, nil
	}
	w.payloads = append(w.payloads, append([]byte(nil), payload...))
	return w.recordingWriter.WriteRTP(h, payload)
}

func (w *gatedWriter) seqs() string {
	var s []uint16
	for _, h := range w.headers {
		s = append(s, h.SequenceNumber)
	}
	return fmt.Sprint(s)
}

// sendFrames forwards frames of two packets each, from seq on, the first a keyframe
// when key is set, and returns the next sequence number.
func sendFrames(t *testing.T, track *Track, seq uint16, frames int, key bool) uint16 {
	t.Helper()
	var pkt rtp.Packet
	for f := range frames {
		ts := uint32(seq) * 1500
		for i := range 2 {
			track.forward(&pkt, vp8Packet(t, seq, ts, key && f == 0 && i == 0))
			seq++
		}
	}
	return seq
}

func bindGated(t *testing.T, track *Track, ready bool) (*DownTrack, *gatedWriter) {
	t.Helper()
	w := &gatedWriter{ready: ready}
	d := newDownTrack(track)
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	return d, w
}

// TestNewSubscriberStartsWithTheCachedKeyframe: a down-track bound after a keyframe
// sends that keyframe and what followed it at the next packet, numbered as the
// stream goes on, and asks the publisher for nothing.
func TestNewSubscriberStartsWithTheCachedKeyframe(t *testing.T) {
	k := &keyframeCounter{}
	track := newKeyframeTrack(k)
	next := sendFrames(t, track, 100, 3, true) // 100 (keyframe) to 105
	_, w := bindGated(t, track, true)
	next = sendFrames(t, track, next, 1, false) // 106, 107
	if got, want := w.seqs(), "[100 101 102 103 104 105 106 107]"; got != want {
		t.Fatalf("sent %s, want %s", got, want)
	}
	if !vp8.IsKeyframe(w.payloads[0]) {
		t.Error("the first packet sent is not the keyframe")
	}
	if n := k.plis.Load(); n != 0 {
		t.Errorf("%d keyframe requests with a keyframe cached, want none", n)
	}
	if s := track.mediaStats(); s.FastStarts != 1 || s.PacketsOut != 8 {
		t.Errorf("fast starts %d, packets out %d; want 1 and 8", s.FastStarts, s.PacketsOut)
	}
	_ = next
}

// TestNewSubscriberWithoutKeyframeAsksOnce: with no keyframe cached, binding asks the
// publisher for one, once; the packets before it are not sent, and the keyframe is
// the first packet the subscriber receives.
func TestNewSubscriberWithoutKeyframeAsksOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &keyframeCounter{}
		track := newKeyframeTrack(k)
		next := sendFrames(t, track, 100, 2, false)
		_, w := bindGated(t, track, true)
		next = sendFrames(t, track, next, 5, false)
		time.Sleep(3 * keyframeInterval) // any delayed request would be out by now
		if len(w.headers) != 0 {
			t.Fatalf("sent %s before a keyframe", w.seqs())
		}
		if n := k.plis.Load(); n != 1 {
			t.Fatalf("%d keyframe requests, want 1", n)
		}
		sendFrames(t, track, next, 2, true)
		if got, want := w.seqs(), fmt.Sprint([]uint16{next, next + 1, next + 2, next + 3}); got != want {
			t.Fatalf("sent %s, want %s", got, want)
		}
		if !vp8.IsKeyframe(w.payloads[0]) {
			t.Error("the first packet sent is not the keyframe")
		}
		if n := k.plis.Load(); n != 1 {
			t.Errorf("%d keyframe requests, want 1", n)
		}
	})
}

// TestStaleKeyframeIsNotUsed: a keyframe older than maxKeyframeAge is not sent; the
// publisher is asked for a new one.
func TestStaleKeyframeIsNotUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &keyframeCounter{}
		track := newKeyframeTrack(k)
		next := sendFrames(t, track, 100, 1, true)
		time.Sleep(maxKeyframeAge + time.Second)
		_, w := bindGated(t, track, true)
		sendFrames(t, track, next, 2, false)
		if len(w.headers) != 0 || k.plis.Load() != 1 {
			t.Fatalf("sent %s, %d keyframe requests; want nothing and 1", w.seqs(), k.plis.Load())
		}
	})
}

// TestFastStartWaitsForTheTransport: packets a down-track writes before its
// subscriber's transport is up are lost; the start is tried again with each packet,
// so the subscriber's first packets are still the keyframe.
func TestFastStartWaitsForTheTransport(t *testing.T) {
	k := &keyframeCounter{}
	track := newKeyframeTrack(k)
	_, w := bindGated(t, track, false)
	next := sendFrames(t, track, 100, 3, true) // the requested keyframe, while not connected
	w.ready = true
	sendFrames(t, track, next, 1, false)
	if got, want := w.seqs(), "[100 101 102 103 104 105 106 107]"; got != want {
		t.Fatalf("sent %s, want %s", got, want)
	}
	if !vp8.IsKeyframe(w.payloads[0]) {
		t.Error("the first packet sent is not the keyframe")
	}
	if n := k.plis.Load(); n != 1 {
		t.Errorf("%d keyframe requests, want the bind's one", n)
	}
}

// TestViewerSwitchStartsFromTheNewSourcesKeyframe: a down-track switched to another
// track starts with that track's cached keyframe, numbered after what it sent.
func TestViewerSwitchStartsFromTheNewSourcesKeyframe(t *testing.T) {
	k := &keyframeCounter{}
	first, second := newKeyframeTrack(k), newKeyframeTrack(k)
	d := newViewerDownTrack("video", "s", webrtc.RTPCodecTypeVideo, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
	w := &gatedWriter{ready: true}
	if _, err := d.Bind(bindContext{ssrc: 42, writer: w}); err != nil {
		t.Fatal(err)
	}
	d.switchTo(first)
	sendFrames(t, first, 500, 1, true) // 500, 501
	sendFrames(t, second, 7, 2, true)  // cached: 7 (keyframe) to 10
	before := k.plis.Load()
	d.switchTo(second)
	sendFrames(t, second, 11, 1, false)
	if got, want := w.seqs(), "[500 501 502 503 504 505 506 507]"; got != want {
		t.Fatalf("sent %s, want %s", got, want)
	}
	if !vp8.IsKeyframe(w.payloads[2]) {
		t.Error("the first packet after the switch is not the keyframe")
	}
	if n := k.plis.Load() - before; n != 0 {
		t.Errorf("the switch asked for %d keyframes with one cached, want none", n)
	}
}
