package sfu

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Echo is a throwaway connection for a connectivity check: it answers a client's
// offer on the engine's own ports and candidates (UDP, ICE-TCP) and sends back every
// message the client sends on its data channels. It carries no media. Its owner
// closes it.
type Echo struct {
	e  *Engine
	pc *webrtc.PeerConnection
}

// NewEcho answers offer, which should offer a data channel, with an Echo; the
// answer carries all of the server's candidates (there is no trickling back to an
// HTTP client). ctx bounds the gathering.
func (e *Engine) NewEcho(ctx context.Context, offer string) (*Echo, string, error) {
	pc, err := e.newSubscriberConnection()
	if err != nil {
		return nil, "", err
	}
	x := &Echo{e: e, pc: pc}
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if m.IsString {
				_ = dc.SendText(string(m.Data))
			} else {
				_ = dc.Send(m.Data)
			}
		})
	})
	answer, err := x.answer(ctx, offer)
	if err != nil {
		x.Close()
		return nil, "", err
	}
	return x, answer, nil
}

func (x *Echo) answer(ctx context.Context, offer string) (string, error) {
	if err := x.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	answer, err := x.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	if err := x.pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	return gathered(ctx, x.pc)
}

// Connected reports whether the client has connected.
func (x *Echo) Connected() bool { return x.pc.ConnectionState() == webrtc.PeerConnectionStateConnected }

// Close closes the connection.
func (x *Echo) Close() { _ = closeConnection(x.e, x.pc) }
