package client

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/wire"
)

// The mesh side of an auto room: one peer connection per other participant, media
// flowing between the peers, negotiated over relays the way the browser client
// does (web/static/mesh.js, docs/protocol.md "Mesh rooms"): a peer already in the
// mesh room offers to a newcomer, with its tracks and a receiving section of each
// kind it does not send; the newcomer answers, sending its own tracks on the
// sections offered. Later changes are offered by either side; when two offers cross,
// the polite peer (the greater id) rolls its own back.

// meshSignal is the data of a relay between mesh peers.
type meshSignal struct {
	Description *webrtc.SessionDescription `json:"description,omitempty"`
	// Streams gives the source ("camera" or "screen") of each stream the sender's
	// description may carry; a stream's audio is its microphone.
	Streams   map[string]string        `json:"streams,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	// Ready: the sender, already in the room, has nothing to offer: the newcomer
	// offers.
	Ready bool `json:"ready,omitempty"`
}

// relayTimeout bounds the sending of one relay.
const relayTimeout = 5 * time.Second

// meshPeer is the connection to one other participant.
type meshPeer struct {
	c      *Client
	id     string
	polite bool

	mu      sync.Mutex // serializes negotiation; guards what follows
	pc      *webrtc.PeerConnection
	streams map[string]string // the peer's stream sources
	sent    map[webrtc.TrackLocal]bool
	cands   pendingCandidates
	// awaiting: the peer was in the room first and offers first; until its offer,
	// the client sends nothing (its tracks go with its answer), so that offers do
	// not cross.
	awaiting bool
	// again: a track was added while an offer was out; the client offers again
	// once the exchange is over.
	again bool
}

// newMeshPeer makes the connection to the participant id.
func (c *Client) newMeshPeer(self, id string) (*meshPeer, error) {
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &meshPeer{c: c, id: id, polite: self > id, pc: pc, streams: map[string]string{}, sent: map[webrtc.TrackLocal]bool{}}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			init := cand.ToJSON()
			p.relay(meshSignal{Candidate: &init})
		}
	})
	pc.OnTrack(p.onTrack)
	return p, nil
}

// relay sends data to the peer, without waiting for anything but the send.
func (p *meshPeer) relay(data meshSignal) {
	ctx, cancel := context.WithTimeout(p.c.ctx, relayTimeout)
	defer cancel()
	_ = p.c.Relay(ctx, p.id, data)
}

// offerFirst starts the connection from the side already in the room: its tracks,
// a receiving section of each kind it sends none of, and an offer.
func (p *meshPeer) offerFirst(local []localTrack) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	kinds := map[webrtc.RTPCodecType]bool{}
	for _, l := range local {
		if err := p.sendLocked(l.track); err != nil {
			return err
		}
		kinds[l.track.Kind()] = true
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if !kinds[kind] {
			if _, err := p.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				return err
			}
		}
	}
	return p.offerLocked()
}

// sendLocked adds track to the connection, on a section the peer offered when there
// is one, once. The caller holds p.mu.
func (p *meshPeer) sendLocked(track webrtc.TrackLocal) error {
	if p.sent[track] {
		return nil
	}
	sender, err := p.pc.AddTrack(track)
	if err != nil {
		return err
	}
	p.sent[track] = true
	go drainRTCP(sender)
	return nil
}

// send adds track and offers it.
func (p *meshPeer) send(track webrtc.TrackLocal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.awaiting {
		return nil // sent with the answer to the peer's first offer
	}
	if err := p.sendLocked(track); err != nil {
		return err
	}
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.again = true // offered once the exchange under way is over
		return nil
	}
	return p.offerLocked()
}

// offerLocked sends an offer for the connection as it is. The caller holds p.mu.
func (p *meshPeer) offerLocked() error {
	p.again = false
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	p.relay(meshSignal{Description: &offer, Streams: p.c.streamSources()})
	return nil
}

// handle applies a relay from the peer.
func (p *meshPeer) handle(d meshSignal, local []localTrack) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, src := range d.Streams {
		p.streams[id] = src
	}
	switch {
	case d.Description != nil && d.Description.Type == webrtc.SDPTypeOffer:
		return p.answerLocked(*d.Description, local)
	case d.Description != nil && d.Description.Type == webrtc.SDPTypeAnswer:
		if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
			return nil // an answer to an offer rolled back
		}
		if err := p.pc.SetRemoteDescription(*d.Description); err != nil {
			return err
		}
		p.cands.flush(p.pc)
		if p.again {
			return p.offerLocked()
		}
	case d.Candidate != nil:
		p.cands.add(p.pc, *d.Candidate)
	case d.Ready:
		p.awaiting = false
		for _, l := range local {
			if err := p.sendLocked(l.track); err != nil {
				return err
			}
		}
		if len(local) > 0 {
			return p.offerLocked()
		}
	}
	return nil
}

// answerLocked answers an offer, sending the local tracks on it; a track the offer
// had no section for is offered next. When offers cross, the impolite side ignores
// the peer's, the polite one rolls its own back. The caller holds p.mu.
func (p *meshPeer) answerLocked(offer webrtc.SessionDescription, local []localTrack) error {
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		if !p.polite {
			return nil
		}
		if err := p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			return err
		}
		p.again = true // what the rolled back offer carried is offered again
	}
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return err
	}
	p.awaiting = false
	p.cands.flush(p.pc)
	for _, l := range local {
		if err := p.sendLocked(l.track); err != nil {
			return err
		}
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	p.relay(meshSignal{Description: &answer, Streams: p.c.streamSources()})
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Mid() == "" {
			p.again = true // a track of a kind the offer did not carry
		}
	}
	if p.again {
		return p.offerLocked()
	}
	return nil
}

func (p *meshPeer) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	p.mu.Lock()
	source := p.streams[track.StreamID()]
	p.mu.Unlock()
	switch {
	case track.Kind() == webrtc.RTPCodecTypeAudio:
		source = "microphone"
	case source == "":
		source = "camera"
	}
	info := wire.Track{ID: p.id + "/" + track.ID(), Participant: p.id, Kind: track.Kind().String(), Source: source}
	p.c.received(pathMesh, info, track, recv)
}

func (p *meshPeer) close() { _ = p.pc.Close() }

// connected reports whether the connection is up.
func (p *meshPeer) connected() bool {
	return p.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// drainRTCP reads what the far end sends about a track sent, until the connection
// closes: the interceptors act on it (NACKs), nothing else here needs it.
func drainRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// decodeMeshSignal decodes a relay's data; anything else is ignored.
func decodeMeshSignal(data []byte) (meshSignal, bool) {
	var d meshSignal
	if err := json.Unmarshal(data, &d); err != nil {
		return d, false
	}
	return d, true
}
