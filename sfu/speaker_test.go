package sfu

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu/speaker"
)

// sendLevels writes 20 ms Opus packets to track until ctx ends, each with the audio
// level extension (id) carrying level (read at each packet).
func sendLevels(ctx context.Context, track *webrtc.TrackLocalStaticRTP, id uint8, level *atomic.Uint32) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 40)}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pkt.SequenceNumber++
		pkt.Timestamp += 960
		if err := pkt.SetExtension(id, []byte{byte(level.Load())}); err != nil {
			return
		}
		if err := track.WriteRTP(&pkt); err != nil {
			return
		}
	}
}

// publishLevels publishes a microphone on pp that sends level, and returns the
// track's id on the server once it has packets.
func publishLevels(t *testing.T, ctx context.Context, pp *pionPeer, level *atomic.Uint32) {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "s")
	if err != nil {
		t.Fatal(err)
	}
	sender := pp.publish(map[Source]webrtc.TrackLocal{SourceMicrophone: track})[SourceMicrophone]
	var id uint8
	for _, e := range sender.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		t.Fatal("the server did not accept the audio level extension")
	}
	go sendLevels(ctx, track, id, level)
	pollUntil(t, 10*time.Second, func() (bool, string) {
		n := uint64(0)
		pp.p.room.ops.do(func() {
			if m := pp.p.room.find(pp.p.id); m != nil {
				for _, tr := range m.tracks {
					n += tr.Packets()
				}
			}
		})
		return n > 0, "the server has read no audio packet of " + pp.p.name
	})
}

// TestLoudPublisherIsReportedAsSpeaker: of two publishers, the one whose packets carry
// a high audio level is reported as the speaker to a third participant within a
// second of starting to speak; the silent one never is.
func TestLoudPublisherIsReportedAsSpeaker(t *testing.T) {
	rooms := newPionRooms(t, Config{})
	api := pionAPI(t, []string{sdp.AudioLevelURI}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var aliceLevel, carolLevel atomic.Uint32
	aliceLevel.Store(127) // silence, until the streams flow
	carolLevel.Store(127)
	alice := joinPion(t, rooms, "talk", "alice", api, nil)
	carol := joinPion(t, rooms, "talk", "carol", api, nil)
	bob := joinPion(t, rooms, "talk", "bob", api, nil)
	publishLevels(t, ctx, alice, &aliceLevel)
	publishLevels(t, ctx, carol, &carolLevel)

	aliceLevel.Store(10) // -10 dBov: speech
	started := time.Now()
	deadline := time.After(time.Second)
	for {
		select {
		case ids := <-bob.speakers:
			if fmt.Sprint(ids) == fmt.Sprint([]ParticipantID{alice.p.id}) {
				t.Logf("alice reported as speaker %v after she started", time.Since(started))
				return
			}
			if len(ids) > 0 {
				t.Fatalf("speakers %v, want alice (%s) alone", ids, alice.p.id)
			}
		case <-deadline:
			t.Fatalf("alice was not reported as speaker within 1 s of speaking")
		}
	}
}

// bareRoom is a room with no engine, queue or connections, for tests that run its
// operations by hand.
func bareRoom(limits Limits) *Room {
	rs := &Rooms{engine: &Engine{limits: limits.withDefaults()}, log: quietLogger()}
	return &Room{id: "r", rooms: rs, log: quietLogger(), speakers: speaker.New[ParticipantID](speaker.Config{Interval: speakerReportInterval})}
}

// talker is a member of a bare room with a microphone whose one down-track records
// what it is sent.
type talker struct {
	track *Track
	w     *recordingWriter
	seq   uint16
	ts    uint32
}

func addTalker(t *testing.T, r *Room, id ParticipantID) *talker {
	t.Helper()
	m := &member{p: &Participant{id: id, log: quietLogger()}}
	if _, err := r.members.Join(m, roster.Contact[ParticipantInfo]{Log: quietLogger()}, -1); err != nil {
		t.Fatal(err)
	}
	tr := publishedTrack(TrackID("t"+id), webrtc.RTPCodecTypeAudio)
	tr.levelExt = 1
	m.tracks = append(m.tracks, tr)
	tk := &talker{track: tr, w: &recordingWriter{}, seq: 1000, ts: 5000}
	if _, err := newDownTrack(tr).Bind(bindContext{ssrc: 7, writer: tk.w}); err != nil {
		t.Fatal(err)
	}
	return tk
}

// speak forwards one 20 ms packet at level.
func (tk *talker) speak(t *testing.T, level uint8) {
	t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: tk.seq, Timestamp: tk.ts}, Payload: make([]byte, 40)}
	if err := pkt.SetExtension(1, []byte{level}); err != nil {
		t.Fatal(err)
	}
	raw, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var p rtp.Packet
	tk.track.forward(&p, raw)
	tk.seq++
	tk.ts += 960
}

// TestOnlyTheLoudestAudioIsForwardedInALargeRoom: in a room of 12, only the three
// loudest microphones are forwarded; a paused one that starts speaking is forwarded
// again, with no gap in its sequence numbers and its source's timestamps.
func TestOnlyTheLoudestAudioIsForwardedInALargeRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := bareRoom(Limits{MaxAudioForward: 3})
		var talkers []*talker
		for i := range 12 {
			talkers = append(talkers, addTalker(t, r, ParticipantID(fmt.Sprintf("p%02d", i))))
		}
		levels := make([]uint8, 12)
		for i := range levels {
			levels[i] = 127
		}
		levels[0], levels[1], levels[2] = 10, 20, 30
		run := func(ticks int) {
			for range ticks {
				for range speakerTick / (20 * time.Millisecond) {
					for i, tk := range talkers {
						tk.speak(t, levels[i])
					}
					time.Sleep(20 * time.Millisecond)
				}
				r.speakerTickOp()
			}
		}
		run(5)
		before := make([]int, 12)
		for i, tk := range talkers {
			before[i] = len(tk.w.headers)
		}
		run(1)
		for i, tk := range talkers {
			if got, want := len(tk.w.headers) > before[i], i < 3; got != want {
				t.Errorf("p%02d forwarded: %v, want %v", i, got, want)
			}
		}

		// p05 starts speaking, p02 stops.
		p5 := talkers[5]
		lastSeq, lastTS := p5.w.headers[len(p5.w.headers)-1].SequenceNumber, p5.w.headers[len(p5.w.headers)-1].Timestamp
		sent := len(p5.w.headers)
		levels[5], levels[2] = 5, 127
		run(5)
		if len(p5.w.headers) == sent {
			t.Fatal("p05 speaks and is not forwarded")
		}
		resumed := p5.w.headers[sent]
		if resumed.SequenceNumber != lastSeq+1 {
			t.Errorf("p05 resumed at sequence number %d after %d: want no gap", resumed.SequenceNumber, lastSeq)
		}
		if resumed.Timestamp-lastTS <= 960 || (resumed.Timestamp-5000)%960 != 0 {
			t.Errorf("p05 resumed at timestamp %d after %d: want the source's own, past the pause", resumed.Timestamp, lastTS)
		}
		n := len(talkers[2].w.headers)
		run(1)
		if len(talkers[2].w.headers) != n {
			t.Error("p02, silent and out of the three loudest, is still forwarded")
		}
	})
}

// TestEveryMicrophoneIsForwardedInASmallRoom: up to AudioForwardAllUpTo members,
// nobody's audio is paused, however many speak.
func TestEveryMicrophoneIsForwardedInASmallRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := bareRoom(Limits{MaxAudioForward: 1})
		var talkers []*talker
		for i := range AudioForwardAllUpTo {
			talkers = append(talkers, addTalker(t, r, ParticipantID(fmt.Sprintf("p%02d", i))))
		}
		for range 5 {
			for i, tk := range talkers {
				tk.speak(t, uint8(10+i))
			}
			time.Sleep(speakerTick)
			r.speakerTickOp()
		}
		for i, tk := range talkers {
			if tk.track.paused.Load() || len(tk.w.headers) != 5 {
				t.Errorf("p%02d: paused %v, sent %d of 5", i, tk.track.paused.Load(), len(tk.w.headers))
			}
		}
	})
}
