package sfu

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// ViewerID identifies one viewer; the server assigns it.
type ViewerID string

// Errors of Rooms.Watch and of what an administrator does to viewers.
var (
	// ErrNoRoom: nobody is in the room.
	ErrNoRoom = roster.ErrNoRoom
	// ErrNoParticipant: the participant asked for is not in the room.
	ErrNoParticipant = errors.New("sfu: no such participant in the room")
	// ErrNoViewer: no viewer with that id watches the room.
	ErrNoViewer = errors.New("sfu: no such viewer in the room")
	// ErrTooManyViewers: the server has Limits.MaxViewers viewers already.
	ErrTooManyViewers = errors.New("the server has as many viewers as it may")
)

// Viewer receives one publisher of a room on a single connection that the viewer
// offers and the server answers (a WHEP player). It is not a participant: nobody in
// the room is told about it, and it sends nothing. It does take a place of the room
// under Limits.MaxParticipants, and counts against Limits.MaxViewers.
//
// It watches the participant it was asked for, or, without one, the room's earliest
// joined participant that publishes anything. When that publisher stops, a
// room-level viewer moves to the next one; its connection stays, and video resumes
// at the new publisher's next keyframe. It receives one audio and one video track:
// the microphone and camera when there are such, else the first of each kind.
type Viewer struct {
	id   ViewerID
	room *Room
	want ParticipantID
	pc   *webrtc.PeerConnection
	log  *slog.Logger

	since time.Time
	ended func() // the owner's, called at most once by end

	audio, video *DownTrack

	endOnce    sync.Once
	mu         sync.Mutex // guards candidates
	candidates candidateQueue

	readers   sync.WaitGroup
	closeOnce sync.Once
	atClose   atomic.Pointer[func()] // AtClose's
}

// AtClose sets f to be called once the viewer has closed (Close), from the goroutine
// that closed it: where package auto gives up the viewer's seat in its auto room.
func (v *Viewer) AtClose(f func()) { v.atClose.Store(&f) }

// ID is the viewer's server-assigned id.
func (v *Viewer) ID() ViewerID { return v.id }

// Watch adds a viewer to the room id: of participant want, or of the room's first
// publisher when want is empty. ended is called at most once, when the connection
// fails (on a goroutine of Pion's) or an administrator removes the viewer or closes
// the room (on the room's operation queue), or code serving the viewer panics (logged
// and counted); the caller then calls Close, but not from
// ended itself, which must return quickly. The caller owns the viewer.
// It fails with ErrNoRoom when the room does not exist (a viewer creates none),
// ErrRoomFull when the room has no place left, ErrTooManyViewers beyond
// Limits.MaxViewers.
func (rs *Rooms) Watch(id RoomID, want ParticipantID, ended func()) (*Viewer, error) {
	r, err := rs.holdViewer(id)
	if err != nil {
		return nil, err
	}
	var audioCodec, videoCodec webrtc.RTPCodecCapability
	present := false
	r.ops.do(func() {
		if want != "" && r.find(want) == nil {
			return
		}
		present = true
		if m := r.source(want); m != nil {
			audioCodec, videoCodec = defaultCodecs(m.tracks)
		}
	})
	if !present {
		rs.releaseViewer(r)
		return nil, ErrNoParticipant
	}
	if audioCodec.MimeType == "" {
		audioCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	}
	if videoCodec.MimeType == "" {
		videoCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	v, err := rs.newViewer(r, want, audioCodec, videoCodec, ended)
	if err != nil {
		rs.releaseViewer(r)
		return nil, err
	}
	r.ops.post(func() {
		r.viewers = append(r.viewers, v)
		r.retargetViewer(v)
	})
	v.log.Info("viewer added", "watching", want)
	return v, nil
}

func (rs *Rooms) newViewer(r *Room, want ParticipantID, audio, video webrtc.RTPCodecCapability, ended func()) (*Viewer, error) {
	pc, err := rs.engine.newSubscriberConnection()
	if err != nil {
		return nil, err
	}
	id := ViewerID(roster.RandomID("v_"))
	v := &Viewer{id: id, room: r, want: want, pc: pc, log: r.log.With("viewer", id), since: time.Now(), ended: ended}
	v.audio = newViewerDownTrack("audio", "switchboard", webrtc.RTPCodecTypeAudio, audio)
	v.video = newViewerDownTrack("video", "switchboard", webrtc.RTPCodecTypeVideo, video)
	for _, d := range []*DownTrack{v.audio, v.video} {
		d.rtcpOut = pc.WriteRTCP
		sender, err := pc.AddTrack(d)
		if err != nil {
			_ = closeConnection(rs.engine, pc)
			return nil, err
		}
		v.readers.Add(1)
		go v.readRTCP(sender, d)
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		defer safe.Recover(v.log, "connection state callback", v.fail)
		v.log.Debug("connection state", "state", s)
		if s == webrtc.PeerConnectionStateFailed {
			v.end()
		}
	})
	return v, nil
}

// end tells the viewer's owner, once, that the viewer should be closed.
func (v *Viewer) end() {
	if v.ended != nil {
		v.endOnce.Do(v.ended)
	}
}

// fail ends the viewer after a panic in code serving it (safe.Recover's onPanic).
func (v *Viewer) fail(error) { v.end() }

// defaultCodecs are the codecs of the tracks a viewer of a member with tracks would
// receive.
func defaultCodecs(tracks []*Track) (audio, video webrtc.RTPCodecCapability) {
	a, vid := pickAV(tracks)
	if a != nil {
		audio = a.codec.RTPCodecCapability
	}
	if vid != nil {
		video = vid.codec.RTPCodecCapability
	}
	return audio, video
}

// Answer applies the viewer's offer and returns the answer with the server's ICE
// candidates in it, waiting for them until ctx ends.
func (v *Viewer) Answer(ctx context.Context, offerSDP string) (string, error) {
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}
	if _, err := offer.Unmarshal(); err != nil {
		return "", wrapSDPError(err)
	}
	if err := v.pc.SetRemoteDescription(offer); err != nil {
		return "", wrapSDPError(err)
	}
	answer, err := v.pc.CreateAnswer(nil)
	if err != nil {
		return "", wrapSDPError(err)
	}
	if err := v.pc.SetLocalDescription(answer); err != nil {
		return "", wrapSDPError(err)
	}
	v.mu.Lock()
	v.candidates.flush(v.pc, v.log)
	v.mu.Unlock()
	return gathered(ctx, v.pc)
}

// AddCandidate applies a remote ICE candidate, or keeps it until the offer.
func (v *Viewer) AddCandidate(c webrtc.ICECandidateInit) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.candidates.add(v.pc, c)
}

// Watching is the participant whose video the viewer receives now, empty when none.
func (v *Viewer) Watching() ParticipantID {
	if t := v.video.Source(); t != nil {
		return t.info.Participant
	}
	if t := v.audio.Source(); t != nil {
		return t.info.Participant
	}
	return ""
}

// VideoPackets is how many video packets the viewer has been sent.
func (v *Viewer) VideoPackets() uint64 { return v.video.Packets() }

func (v *Viewer) readRTCP(sender *webrtc.RTPSender, d *DownTrack) {
	defer v.readers.Done()
	defer safe.Recover(v.log, "viewer RTCP reader", v.fail)
	readRTCP(sender.Read, v.log, nil, d.handleRTCP)
}

// Close removes the viewer from its room, ends its connection and waits for its
// goroutines. Safe to call more than once, from any goroutine but the room's.
func (v *Viewer) Close() {
	v.closeOnce.Do(func() {
		r := v.room
		// On the room's queue, after any retargeting already queued: nothing points
		// the down-tracks at a source again.
		r.ops.do(func() { r.dropViewer(v) })
		if err := closeConnection(r.rooms.engine, v.pc); err != nil {
			v.log.Debug("close", "err", err)
		}
		v.readers.Wait()
		r.rooms.releaseViewer(r)
		v.log.Info("viewer left")
		if f := v.atClose.Load(); f != nil {
			(*f)()
		}
	})
}

// dropViewer takes v out of the room's viewers and stops what it receives; v may be
// gone already. It runs on the operation queue.
func (r *Room) dropViewer(v *Viewer) {
	r.viewers = slices.DeleteFunc(r.viewers, func(o *Viewer) bool { return o == v })
	v.audio.switchTo(nil)
	v.video.switchTo(nil)
}

// gathered waits until pc has gathered its ICE candidates, then returns its local
// description, candidates included: WHIP and WHEP answers carry them, since the
// server cannot trickle to an HTTP client.
func gathered(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}
