package signal

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// observer turns the media core's events into messages for the client. Its methods
// only encode and queue.
type observer struct {
	s *Session
	// joinRe and room are the join request's id and room, set before the participant
	// exists and read only after.
	joinRe, room string
	// auto: the participant is the SFU side of an auto room's seat; epoch is the
	// switch it joined for, 0 when it joined with the session's join.
	auto  bool
	epoch int
	// log is the session's logger with the room and participant, from Joined on: the
	// media core's goroutines log with it.
	log atomic.Pointer[slog.Logger]
}

var (
	_ sfu.RoomObserver       = (*observer)(nil)
	_ sfu.TrackObserver      = (*observer)(nil)
	_ sfu.ConnectionObserver = (*observer)(nil)
	_ sfu.SpeakerObserver    = (*observer)(nil)
	_ sfu.LayerObserver      = (*observer)(nil)
)

// observers hands o to the media core for every concern: a client of the native
// protocol hears of everything.
func (o *observer) observers() sfu.Observers {
	return sfu.Observers{Room: o, Tracks: o, Connection: o, Speakers: o, Layers: o}
}

func (o *observer) Joined(self sfu.ParticipantInfo, others []sfu.ParticipantInfo) {
	o.log.Store(o.s.log.With("room", o.room, "participant", self.ID))
	present := make([]wire.Participant, len(others))
	for i, p := range others {
		present[i] = participantToWire(p)
	}
	if o.epoch > 0 {
		o.s.send(wire.TypeSwitch, "", wire.Switch{Mode: string(directory.SFU), Epoch: o.epoch, Participants: present})
		return
	}
	o.s.send(wire.TypeJoined, o.joinRe, wire.Joined{
		Room: o.room, Mode: string(directory.SFU), Participant: participantToWire(self),
		Participants: present, ICEServers: o.s.iceServers(string(self.ID)), Auto: o.auto,
	})
}

func (o *observer) ParticipantJoined(p sfu.ParticipantInfo) {
	o.s.send(wire.TypeParticipantJoined, "", wire.ParticipantEvent{Participant: participantToWire(p)})
}

func (o *observer) ParticipantLeft(p sfu.ParticipantInfo) {
	o.s.send(wire.TypeParticipantLeft, "", wire.ParticipantEvent{Participant: participantToWire(p)})
}

func (o *observer) TrackPublished(t sfu.TrackInfo) {
	o.s.send(wire.TypeTrackPublished, "", wire.TrackEvent{Track: trackToWire("", t)})
}

func (o *observer) TrackUnpublished(t sfu.TrackInfo) {
	o.s.send(wire.TypeTrackUnpublished, "", wire.TrackEvent{Track: trackToWire("", t)})
}

func (o *observer) Chat(m sfu.ChatMessage) {
	o.s.send(wire.TypeChat, "", wire.Chat{From: string(m.From), Name: m.Name, Text: m.Text,
		Time: m.Time.Format(time.RFC3339Nano)})
}

func (o *observer) SubscriberOffer(sdp string, tracks []sfu.SubscribedTrack) {
	msg := wire.Offer{SDP: sdp, Tracks: make([]wire.Track, len(tracks))}
	for i, t := range tracks {
		msg.Tracks[i] = trackToWire(t.Mid, t.TrackInfo)
	}
	o.s.send(wire.TypeSubscribeOffer, "", msg)
}

func (o *observer) Candidate(side sfu.Side, c webrtc.ICECandidateInit) {
	cand := wire.ICECandidate(c)
	o.s.send(wire.TypeCandidate, "", wire.Candidate{Target: targetOf(side), Candidate: &cand})
}

// Removed tells the client why (an error with code replaced, removed or room-closed)
// and ends the session; the error goes out before the connection closes.
func (o *observer) Removed(reason error) {
	o.s.sendError("", reason)
	o.s.End(fmt.Errorf("%w: %w", ErrRemoved, reason))
}

func (o *observer) ActiveSpeakers(ids []sfu.ParticipantID) {
	msg := wire.ActiveSpeaker{Participants: make([]string, len(ids))}
	for i, id := range ids {
		msg.Participants[i] = string(id)
	}
	o.s.send(wire.TypeActiveSpeaker, "", msg)
}

func (o *observer) TrackMuted(t sfu.TrackInfo) {
	o.s.send(wire.TypeTrackMuted, "", wire.TrackEvent{Track: trackToWire("", t)})
}

func (o *observer) TrackLayer(l sfu.TrackLayer) {
	o.s.send(wire.TypeTrackLayer, "", wire.TrackLayer{Track: string(l.Track), Layer: l.Layer, Paused: l.Paused,
		Reason: string(l.Reason)})
}

func (o *observer) PublishLayers(track sfu.TrackID, mid string, active map[string]bool) {
	o.s.send(wire.TypePublishLayers, "", wire.PublishLayers{Track: string(track), Mid: mid, Active: active})
}

// Failed ends the session: with ErrInternal after a panic in the media core's code
// serving this participant (already logged there), with ErrConnectionFailed otherwise.
func (o *observer) Failed(err error) {
	if _, ok := errors.AsType[*safe.Error](err); ok {
		o.s.endInternal()
		return
	}
	log := o.log.Load()
	if log == nil {
		log = o.s.log.With("room", o.room)
	}
	log.Warn("media connection failed", "err", err)
	o.s.End(ErrConnectionFailed)
}

func participantToWire(p sfu.ParticipantInfo) wire.Participant {
	out := wire.Participant{ID: string(p.ID), Identity: p.Identity, Name: p.Name, Tracks: make([]wire.Track, len(p.Tracks))}
	for i, t := range p.Tracks {
		out.Tracks[i] = trackToWire("", t)
	}
	return out
}

func trackToWire(mid string, t sfu.TrackInfo) wire.Track {
	return wire.Track{Mid: mid, ID: string(t.ID), Participant: string(t.Participant), Kind: t.Kind.String(),
		Source: string(t.Source), Muted: t.Muted, SelfMuted: t.SelfMuted, Layers: t.Layers}
}
