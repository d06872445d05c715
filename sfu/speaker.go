package sfu

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu/speaker"
)

// Active speakers: each audio track sums the levels its packets carry (RFC 6464,
// negotiated on publisher connections); every speakerTick the room's operation
// queue takes each participant's mean, feeds its speaker.Detector, tells the members
// who speak when that changes (at most every speakerReportInterval), and in a room
// of more than AudioForwardAllUpTo participants forwards only the microphones of the
// Limits.MaxAudioForward loudest.

// speakerTick is how often a room ranks its speakers: often enough that a new
// speaker is heard (and reported) within a few hundred milliseconds, rarely enough
// to cost nothing next to the media.
const speakerTick = 200 * time.Millisecond

// speakerReportInterval is the least time between two reports of a room's speakers.
const speakerReportInterval = 500 * time.Millisecond

// levelCountBits is how many low bits of Track.loudness count packets; the bits
// above sum their loudness (at most 127 each), which leaves room for 2^33 packets.
const levelCountBits = 24

// observeLevel adds the audio level pkt carries, if any, to the track's sum: one
// atomic add, no allocation.
func (t *Track) observeLevel(pkt *rtp.Packet) {
	ext := pkt.GetExtension(t.levelExt)
	if len(ext) == 0 {
		return
	}
	t.loudness.Add(uint64(speaker.Loudness(ext[0]&0x7f))<<levelCountBits | 1)
}

// takeLoudness is the mean loudness of the packets since the last call, and starts
// a new sum; speaker.Silence without any.
func (t *Track) takeLoudness() float64 {
	v := t.loudness.Swap(0)
	n := v & (1<<levelCountBits - 1)
	if n == 0 {
		return speaker.Silence
	}
	return float64(v>>levelCountBits) / float64(n)
}

// setPaused pauses (true) or resumes an audio track's forwarding. On resuming,
// each down-track goes on with the next sequence number and with its timestamps
// still those of the source, so that the subscriber sees neither loss nor a jump.
func (t *Track) setPaused(paused bool) {
	if t.paused.Load() == paused {
		return
	}
	if !paused {
		for _, d := range *t.downs.Load() {
			d.resumeSame(t)
		}
	}
	t.paused.Store(paused)
}

// resumeSame continues the numbering of src, the source, after packets it did not
// forward: without a gap in sequence numbers, with the source's own timestamps.
func (d *DownTrack) resumeSame(src *Track) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.source == src {
		d.rw.skipped()
	}
}

// speakerLoop runs the room's speaker ticks on its operation queue until stop is
// closed or the queue refuses them.
func (r *Room) speakerLoop(stop <-chan struct{}) {
	tick := time.NewTicker(speakerTick)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if !r.ops.post(r.speakerTickOp) {
				return
			}
		}
	}
}

// speakerTickOp ranks the speakers, pauses the audio of those not among the
// loudest in a large room, and tells the members when the speakers changed. It
// runs on the operation queue.
func (r *Room) speakerTickOp() {
	for m := range r.members.All() {
		for _, t := range m.tracks {
			if t.info.Kind == webrtc.RTPCodecTypeAudio {
				r.speakers.Observe(m.p.id, t.takeLoudness())
			}
		}
	}
	ranking, changed := r.speakers.Tick(time.Now())
	r.limitAudio(r.members.Len())
	if !changed {
		return
	}
	for m := range r.members.All() {
		tellSpeakers(m.p, ranking)
	}
}

// limitAudio forwards every audio track in a room of up to AudioForwardAllUpTo
// members, else those of the Limits.MaxAudioForward loudest members only, and those
// that carry no audio level (which cannot be ranked, so are never paused).
func (r *Room) limitAudio(members int) {
	limit := r.rooms.engine.limits.MaxAudioForward
	all := limit < 0 || members <= AudioForwardAllUpTo
	floor := map[ParticipantID]bool{}
	if !all {
		for _, id := range r.speakers.Loudest(limit) {
			floor[id] = true
		}
	}
	for m := range r.members.All() {
		for _, t := range m.tracks {
			if t.info.Kind == webrtc.RTPCodecTypeAudio {
				t.setPaused(!all && t.levelExt != 0 && !floor[m.p.id])
			}
		}
	}
}

// tellSpeakers gives p's speaker observer, if it has one, the ranking (shared by
// every member: read only). A panic there ends p alone.
func tellSpeakers(p *Participant, ranking []ParticipantID) {
	if p.obs.Speakers == nil {
		return
	}
	defer safe.Recover(p.log, "active-speakers notice", p.obs.Connection.Failed)
	p.obs.Speakers.ActiveSpeakers(ranking)
}
