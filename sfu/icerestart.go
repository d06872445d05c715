package sfu

import (
	"context"
	"strings"
)

// ICE restarts for clients that cannot send a whole new offer (WHIP and WHEP send
// only the new ICE credentials): the connection's last offer is applied again with
// the new credentials, which makes Pion, as the answerer, restart ICE with fresh
// credentials of its own. A native client restarts its publisher with an offer made
// with iceRestart, and asks for its subscriber to be restarted (RestartICE): there
// the server offers.

// RestartICE restarts ICE with the client's new credentials and returns the new
// answer with the server's candidates in it, waiting for them until ctx ends.
func (pub *Publisher) RestartICE(ctx context.Context, ufrag, pwd string) (string, error) {
	pub.mu.Lock()
	pc := pub.pc
	pub.mu.Unlock()
	if pc == nil || pc.RemoteDescription() == nil {
		return "", ErrNoOffer
	}
	offer := withICECredentials(pc.RemoteDescription().SDP, ufrag, pwd)
	if _, err := pub.Answer(offer, nil); err != nil {
		return "", err
	}
	return gathered(ctx, pc)
}

// RestartICE restarts ICE with the viewer's new credentials; see
// Publisher.RestartICE.
func (v *Viewer) RestartICE(ctx context.Context, ufrag, pwd string) (string, error) {
	remote := v.pc.RemoteDescription()
	if remote == nil {
		return "", ErrNoOffer
	}
	return v.Answer(ctx, withICECredentials(remote.SDP, ufrag, pwd))
}

// RestartICE makes the subscriber's next offer restart ICE (new credentials, new
// candidates gathered), for a client whose connection went down: its network
// changed, or was away for a while. It returns at once; the offer goes out as any
// other (ConnectionObserver.SubscriberOffer), after the outstanding one is answered.
func (s *Subscriber) RestartICE() error {
	if !s.ops.post(func() { s.restartICE, s.changed = true, true }) {
		return ErrClosed
	}
	return nil
}

// withICECredentials is the offer sdp with every ICE ufrag and password replaced and
// its candidates removed: those belong to the old ICE session.
func withICECredentials(sdp, ufrag, pwd string) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + ufrag + "\r\n"
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + pwd + "\r\n"
		case strings.HasPrefix(line, "a=candidate:"), strings.HasPrefix(line, "a=end-of-candidates"):
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}
