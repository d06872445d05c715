package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// whipPeer is a WHIP publisher or WHEP viewer: one connection, one POST, one DELETE.
type whipPeer struct {
	pc       *webrtc.PeerConnection
	resource string // absolute URL of the session
}

// maxAnswerSize bounds the answer read from a server: SDP of two m-lines.
const maxAnswerSize = 256 << 10

func (p *whipPeer) close() {
	if p.resource != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, p.resource, nil); err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
	_ = p.pc.Close()
}

// publishWHIP sends m to endpoint with WHIP.
func (r *runner) publishWHIP(ctx context.Context, endpoint string, m media) (peer, error) {
	pc, err := r.pubAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &whipPeer{pc: pc}
	for _, t := range []*webrtc.TrackLocalStaticRTP{m.video, m.audio} {
		tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			p.close()
			return nil, err
		}
		go drainRTCP(tr.Sender())
	}
	return p, p.negotiate(ctx, endpoint)
}

// watchWHEP receives endpoint's media with WHEP.
func (r *runner) watchWHEP(ctx context.Context, endpoint string) (peer, error) {
	pc, err := r.subAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &whipPeer{pc: pc}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			p.close()
			return nil, err
		}
	}
	rp := r.newReceiving()
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { r.rec.readTrack(rp, t) })
	return p, p.negotiate(ctx, endpoint)
}

// negotiate posts an offer with every candidate in it, applies the answer and waits
// until connected.
func (p *whipPeer) negotiate(ctx context.Context, endpoint string) error {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return ctx.Err()
	}
	answer, location, err := post(ctx, endpoint, p.pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	p.resource = location
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	return waitConnected(ctx, p.pc)
}

// post sends a WHIP/WHEP offer and returns the answer and the session's URL.
func post(ctx context.Context, endpoint, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerSize))
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", "", fmt.Errorf("POST %s: %s: %s", endpoint, resp.Status, strings.TrimSpace(string(body)))
	}
	loc, err := resp.Location()
	if err != nil {
		return string(body), "", nil // no Location: the session cannot be deleted
	}
	return string(body), loc.String(), nil
}

// waitConnected waits for pc to connect.
func waitConnected(ctx context.Context, pc *webrtc.PeerConnection) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("not connected (%s): %w", pc.ConnectionState(), ctx.Err())
		}
	}
	return nil
}

// endpoint is target with path, {room} replaced by room.
func endpoint(target, path, room string) string {
	return strings.TrimSuffix(target, "/") + strings.ReplaceAll(path, "{room}", url.PathEscape(room))
}
