package client

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/wire"
)

const (
	// iceDownFor is how long a connection may stay disconnected before the client
	// restarts ICE: a short loss comes back by itself; a network that changed does
	// not. A failed connection is restarted at once.
	iceDownFor = 2 * time.Second
	// iceRestartEvery spaces the restarts of one connection while it stays down.
	iceRestartEvery = 3 * time.Second
	// iceCheckEvery is how often the connections' states are looked at.
	iceCheckEvery = 250 * time.Millisecond
	// iceRestartWithin bounds one restart's negotiation.
	iceRestartWithin = 10 * time.Second
	// networkChangedFor: after the signaling resumed from a drop (the network
	// changed), a connection that is or goes disconnected restarts at once for this
	// long: its old path is likely gone, and the server gives up on a silent
	// connection after 9 s.
	networkChangedFor = 10 * time.Second
)

// iceWatch follows one connection's state for watchICE.
type iceWatch struct {
	downSince, restarted time.Time
	busy                 atomic.Bool // a restart is being negotiated
}

// due reports whether the connection in state s, at now, needs an ICE restart;
// hurry: a disconnected one does not wait for iceDownFor.
func (w *iceWatch) due(s webrtc.PeerConnectionState, now time.Time, hurry bool) bool {
	switch s {
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed:
		if w.downSince.IsZero() {
			w.downSince = now
		}
	default:
		w.downSince = time.Time{}
		return false
	}
	if s == webrtc.PeerConnectionStateDisconnected && !hurry && now.Sub(w.downSince) < iceDownFor {
		return false
	}
	if w.busy.Load() || now.Sub(w.restarted) < iceRestartEvery {
		return false
	}
	w.restarted = now
	return true
}

// watchICE restarts ICE on a connection that stays disconnected for iceDownFor or
// fails (Options.Reconnect), at once after the signaling resumed (networkChangedFor): the publisher with an offer made with iceRestart, the
// subscriber by asking the server for one (restart-ice). It runs until Close.
func (c *Client) watchICE() {
	var pub, sub iceWatch
	var resumes int
	var hurryUntil time.Time
	t := time.NewTicker(iceCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.ctx.Done():
			return
		}
		now := time.Now()
		if n := c.Resumes(); n != resumes {
			resumes, hurryUntil = n, now.Add(networkChangedFor)
		}
		hurry := now.Before(hurryUntil)
		if pc := c.pub.current.Load(); pc != nil && pub.due(pc.ConnectionState(), now, hurry) {
			c.restartICE(&pub, c.pub.restartICE)
		}
		if pc := c.sub.connection(); pc != nil && sub.due(pc.ConnectionState(), now, hurry) {
			c.restartICE(&sub, func(ctx context.Context) error {
				return c.Send(ctx, wire.TypeRestartICE, wire.RestartICE{Target: wire.TargetSubscriber})
			})
		}
	}
}

// restartICE runs restart on a goroutine of its own, one at a time per connection.
func (c *Client) restartICE(w *iceWatch, restart func(context.Context) error) {
	w.busy.Store(true)
	c.iceRestarts.Add(1)
	go func() {
		defer w.busy.Store(false)
		ctx, cancel := context.WithTimeout(c.ctx, iceRestartWithin)
		defer cancel()
		_ = restart(ctx) // a restart that fails is tried again while the connection stays down
	}()
}

// restartICE renegotiates the publisher with new ICE credentials.
func (p *publisher) restartICE(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.iceRestart = true
	return p.negotiate(ctx)
}

// localOffer is the publisher's next offer, set as its local description: a new one
// (restarting ICE when asked), or the one still waiting for its answer, whose
// request was lost (the signaling dropped too; Pion cannot roll it back). p.mu is
// held.
func (p *publisher) localOffer() (webrtc.SessionDescription, error) {
	if pending := p.pc.PendingLocalDescription(); pending != nil && p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		p.iceRestart = false // a restart was asked of it, or is not needed: it still waits
		return *pending, nil
	}
	var opts *webrtc.OfferOptions
	if p.iceRestart {
		opts, p.iceRestart = &webrtc.OfferOptions{ICERestart: true}, false
	}
	offer, err := p.pc.CreateOffer(opts)
	if err != nil {
		return offer, err
	}
	return offer, p.pc.SetLocalDescription(offer)
}

// connection is the subscriber's connection, nil before the first offer.
func (s *subscriber) connection() *webrtc.PeerConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pc
}

// ICERestarts is how many times the client restarted ICE on one of its connections
// (Options.Reconnect).
func (c *Client) ICERestarts() int { return int(c.iceRestarts.Load()) }
