package signal

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Mesh rooms: the session joins a mesh.Member instead of an sfu.Participant, and
// relays addressed messages to the other peers.

func (s *Session) joinMesh(id, room, name string) error {
	obs := &meshObserver{s: s, joinRe: id, room: room}
	configured := s.cfg.DefaultMode != nil && s.cfg.DefaultMode(room) == directory.Mesh
	opts := s.access.meshOptions(configured)
	opts.Transport = s.transport
	if s.transport != "" {
		opts.LogAttrs = append(opts.LogAttrs, "transport", s.transport)
	}
	opts.LogAttrs = append(opts.LogAttrs, s.logAttrs...)
	m, err := s.cfg.Mesh.JoinWith(mesh.RoomID(room), name, obs, opts)
	if errors.Is(err, mesh.ErrNoRoom) {
		return protocolError(wire.CodeForbidden, "creating a mesh room needs a join token with \"mode\": \"mesh\"; room "+
			quote(room)+" does not exist")
	}
	if err != nil {
		return err
	}
	s.member = m
	return nil
}

func (s *Session) relay(_ string, frame []byte) error {
	switch s.relays.Take(time.Now()) {
	case ratelimit.Refuse:
		return protocolError(wire.CodeFlood, "too many relays: at most 50 a second, in bursts of 200")
	case ratelimit.Cut:
		return ErrFlood
	}
	var req wire.Relay
	if err := decode(frame, &req); err != nil {
		return err
	}
	switch {
	case req.To == "":
		return protocolError(wire.CodeBadRequest, "to: the id of the peer the relay is for")
	case len(req.Data) == 0 || req.Data[0] != '{':
		return protocolError(wire.CodeBadRequest, "data: a JSON object")
	case len(req.Data) > wire.MaxRelaySize:
		return protocolError(wire.CodeBadRequest, "data is larger than 64 KiB")
	}
	err := s.member.Relay(mesh.PeerID(req.To), req.Data)
	if errors.Is(err, mesh.ErrUnknownPeer) {
		return protocolError(wire.CodeUnknownPeer, "no other peer "+quote(req.To)+" in this room")
	}
	return err
}

// meshObserver turns a mesh room's events into messages for the client. Its methods
// only encode and queue.
type meshObserver struct {
	s            *Session
	joinRe, room string
	// auto: the member is the mesh side of an auto room's seat; epoch is the switch
	// it joined for, 0 when it joined with the session's join.
	auto  bool
	epoch int
}

var (
	_ mesh.Observer = (*meshObserver)(nil)
	_ mesh.Failer   = (*meshObserver)(nil)
)

// Failed ends the session: code serving this member, called for another member's
// action, panicked (already logged there).
func (o *meshObserver) Failed(error) { o.s.endInternal() }

func (o *meshObserver) Joined(self mesh.PeerInfo, others []mesh.PeerInfo) {
	present := make([]wire.Participant, len(others))
	for i, p := range others {
		present[i] = peerToWire(p)
	}
	if o.epoch > 0 {
		o.s.send(wire.TypeSwitch, "", wire.Switch{Mode: string(directory.Mesh), Epoch: o.epoch, Participants: present})
		return
	}
	o.s.send(wire.TypeJoined, o.joinRe, wire.Joined{
		Room: o.room, Mode: string(directory.Mesh), Participant: peerToWire(self),
		Participants: present, ICEServers: iceServersToWire(o.s.cfg.ICEServers), Auto: o.auto,
	})
}

func (o *meshObserver) ParticipantJoined(p mesh.PeerInfo) {
	o.s.send(wire.TypeParticipantJoined, "", wire.ParticipantEvent{Participant: peerToWire(p)})
}

func (o *meshObserver) ParticipantLeft(p mesh.PeerInfo) {
	o.s.send(wire.TypeParticipantLeft, "", wire.ParticipantEvent{Participant: peerToWire(p)})
}

func (o *meshObserver) Relay(from mesh.PeerID, data []byte) {
	o.s.send(wire.TypeRelay, "", wire.Relayed{From: string(from), Data: data})
}

// Removed tells the client why (an error with code replaced, removed or room-closed)
// and ends the session; the error goes out before the connection closes.
func (o *meshObserver) Removed(reason error) {
	o.s.sendError("", reason)
	o.s.End(fmt.Errorf("%w: %w", ErrRemoved, reason))
}

func (o *meshObserver) Chat(m mesh.ChatMessage) {
	o.s.send(wire.TypeChat, "", wire.Chat{From: string(m.From), Name: m.Name, Text: m.Text,
		Time: m.Time.Format(time.RFC3339Nano)})
}

// peerToWire describes a mesh peer as the protocol describes a participant: it
// publishes nothing through the server. A peer that joined with a token shows its
// grants, so that the others send it no media it may not receive.
func peerToWire(p mesh.PeerInfo) wire.Participant {
	out := wire.Participant{ID: string(p.ID), Identity: p.Identity, Name: p.Name, Tracks: []wire.Track{}}
	if g := p.Grants; g != nil {
		out.Grants = &wire.MeshGrants{Audio: g.Audio, Video: g.Video, Subscribe: g.Subscribe}
	}
	return out
}
