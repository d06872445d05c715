package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/wire"
)

// publisher is the connection the client sends on; the client offers.
type publisher struct {
	c *Client

	mu      sync.Mutex // serializes negotiations; guards sources
	pc      *webrtc.PeerConnection
	sources map[*webrtc.RTPTransceiver]string
	// current is pc, for readers that must not wait for a negotiation.
	current atomic.Pointer[webrtc.PeerConnection]
	cands   pendingCandidates
}

// Publish adds track, sent as source ("camera", "microphone" or "screen"), and
// negotiates. The caller should read RTCP from the returned sender: keyframe
// requests arrive there.
func (c *Client) Publish(ctx context.Context, track webrtc.TrackLocal, source string) (*webrtc.RTPSender, error) {
	p := c.pub
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.connectionLocked(); err != nil {
		return nil, err
	}
	tr, err := p.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	p.sources[tr] = source
	return tr.Sender(), p.negotiate(ctx)
}

// publishSimulcast adds a synthetic simulcast track (AddSimulcast), sent as source,
// and negotiates.
func (c *Client) publishSimulcast(ctx context.Context, id, stream, source string) (*Simulcast, error) {
	p := c.pub
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.connectionLocked(); err != nil {
		return nil, err
	}
	s, err := AddSimulcast(p.pc, id, stream)
	if err != nil {
		return nil, err
	}
	p.sources[s.tr] = source
	return s, p.negotiate(ctx)
}

// connectionLocked makes the publisher connection on first use. p.mu is held.
func (p *publisher) connectionLocked() error {
	if p.pc != nil {
		return nil
	}
	c := p.c
	pc, err := c.newPeerConnection()
	if err != nil {
		return err
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) { c.trickle(wire.TargetPublisher, cand) })
	p.pc, p.sources = pc, map[*webrtc.RTPTransceiver]string{}
	p.current.Store(pc)
	return nil
}

// Unpublish stops sending on sender and negotiates.
func (c *Client) Unpublish(ctx context.Context, sender *webrtc.RTPSender) error {
	p := c.pub
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pc == nil {
		return fmt.Errorf("client: nothing published")
	}
	if err := p.pc.RemoveTrack(sender); err != nil {
		return err
	}
	return p.negotiate(ctx)
}

// negotiate sends an offer and applies the answer. p.mu is held.
func (p *publisher) negotiate(ctx context.Context) error {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	sources := map[string]string{}
	for tr, src := range p.sources {
		sources[tr.Mid()] = src
	}
	reply, err := p.c.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: offer.SDP, Sources: sources})
	if err != nil {
		return err
	}
	if reply.Type != wire.TypePublishAnswer {
		return refusedRequest(wire.TypePublishOffer, reply)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: reply.Answer().SDP}); err != nil {
		return err
	}
	p.cands.flush(p.pc)
	return nil
}

func (p *publisher) addCandidate(c webrtc.ICECandidateInit) {
	p.cands.add(p.current.Load(), c)
}

func (p *publisher) connected() bool {
	pc := p.current.Load()
	return pc == nil || pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

func (p *publisher) state() string {
	if pc := p.current.Load(); pc != nil {
		return pc.ConnectionState().String()
	}
	return "none"
}

func (p *publisher) close() {
	if pc := p.current.Load(); pc != nil {
		_ = pc.Close()
	}
}

// subscriber is the connection the client receives on; the server offers.
type subscriber struct {
	c *Client

	mu     sync.Mutex
	pc     *webrtc.PeerConnection
	tracks []wire.Track // what each m-line carries, from the latest offer
	cands  pendingCandidates
}

// handleOffer answers a subscribe-offer. It runs on the read loop.
func (s *subscriber) handleOffer(m wire.Offer) {
	answer, err := s.answer(m)
	if err != nil {
		ev := Event{Envelope: wire.Envelope{Type: TypeClientError}, body: &wire.Error{Message: err.Error()}}
		select {
		case s.c.events <- ev:
		default:
		}
		return
	}
	_ = s.c.Send(s.c.ctx, wire.TypeSubscribeAnswer, wire.SubscribeAnswer{SDP: answer})
	s.cands.flush(s.pc)
}

func (s *subscriber) answer(m wire.Offer) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc == nil {
		pc, err := s.c.newPeerConnection()
		if err != nil {
			return "", err
		}
		pc.OnICECandidate(func(cand *webrtc.ICECandidate) { s.c.trickle(wire.TargetSubscriber, cand) })
		pc.OnTrack(s.onTrack)
		s.pc = pc
	}
	s.tracks = m.Tracks
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return "", err
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	return answer.SDP, nil
}

func (s *subscriber) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	s.mu.Lock()
	var info wire.Track
	for _, tr := range s.pc.GetTransceivers() {
		if tr.Receiver() == recv {
			for _, t := range s.tracks {
				if t.Mid == tr.Mid() {
					info = t
				}
			}
		}
	}
	s.mu.Unlock()
	if s.c.opts.OnTrack != nil {
		s.c.opts.OnTrack(info, track, recv)
		return
	}
	buf := make([]byte, 1500)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
	}
}

func (s *subscriber) addCandidate(c webrtc.ICECandidateInit) {
	s.mu.Lock()
	pc := s.pc
	s.mu.Unlock()
	s.cands.add(pc, c)
}

func (s *subscriber) connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pc == nil || s.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

func (s *subscriber) state() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc == nil {
		return "none"
	}
	return s.pc.ConnectionState().String()
}

func (s *subscriber) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc != nil {
		_ = s.pc.Close()
	}
}

// ReceivingTracks lists the tracks the server currently sends this client: those of
// the latest subscribe-offer whose m-line is applied and sending.
func (c *Client) ReceivingTracks() []wire.Track {
	s := c.sub
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc == nil || s.pc.CurrentRemoteDescription() == nil {
		return nil
	}
	// Parse a copy: SessionDescription.Unmarshal caches its result in a description
	// Pion is reading.
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(s.pc.CurrentRemoteDescription().SDP); err != nil {
		return nil
	}
	sending := map[string]bool{}
	for _, md := range parsed.MediaDescriptions {
		mid, _ := md.Attribute("mid")
		_, sendonly := md.Attribute("sendonly")
		_, sendrecv := md.Attribute("sendrecv")
		sending[mid] = md.MediaName.Port.Value != 0 && (sendonly || sendrecv)
	}
	var out []wire.Track
	for _, t := range s.tracks {
		if sending[t.Mid] {
			out = append(out, t)
		}
	}
	return out
}

// WriteSubscriberRTCP sends RTCP on the subscriber connection: feedback about the
// tracks received, such as a keyframe request.
func (c *Client) WriteSubscriberRTCP(pkts []rtcp.Packet) error {
	s := c.sub
	s.mu.Lock()
	pc := s.pc
	s.mu.Unlock()
	if pc == nil {
		return fmt.Errorf("client: nothing received yet")
	}
	return pc.WriteRTCP(pkts)
}

// PublisherConnection is the connection the client sends on (nil before the first
// Publish). It is for reading state and statistics: negotiating on it directly would
// confuse the client.
func (c *Client) PublisherConnection() *webrtc.PeerConnection { return c.pub.current.Load() }

// SubscriberConnection is the connection the client receives on, nil before the
// server's first offer.
func (c *Client) SubscriberConnection() *webrtc.PeerConnection {
	c.sub.mu.Lock()
	defer c.sub.mu.Unlock()
	return c.sub.pc
}
