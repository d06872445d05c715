package bench

import (
	"context"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// peer is one synthetic participant: it can be told to stop.
type peer interface {
	close()
}

// media is the synthetic audio and video one publisher sends; sim, once
// published, replaces video with simulcast layers (Config.Simulcast).
type media struct {
	video, audio *webrtc.TrackLocalStaticRTP
	simulcast    bool
	sim          *client.Simulcast
}

func newMedia(name string) (media, error) {
	v, err := client.NewVideoTrack("video", name)
	if err != nil {
		return media{}, err
	}
	a, err := client.NewAudioTrack("audio", name)
	return media{video: v, audio: a}, err
}

// send runs SendSynthetic on both tracks until ctx ends; wg counts the goroutines.
func (m media) send(ctx context.Context, wg *sync.WaitGroup, videoBitrate, audioBitrate int) {
	wg.Add(2)
	if m.sim != nil {
		go func() { defer wg.Done(); m.sim.Send(ctx, client.SimulcastBitrate(videoBitrate), nil) }()
	} else {
		go func() { defer wg.Done(); client.SendSynthetic(ctx, m.video, videoBitrate) }()
	}
	go func() { defer wg.Done(); client.SendSynthetic(ctx, m.audio, audioBitrate) }()
}

// nativePeer is a participant over the native protocol.
type nativePeer struct {
	c *client.Client
}

func (p *nativePeer) close() { p.c.Close() }

// joinNative joins room; with m set it publishes m. Received tracks go to rec.
func (r *runner) joinNative(ctx context.Context, room, name string, m *media) (peer, error) {
	rp := r.newReceiving()
	api := r.subAPI
	if m != nil {
		api = r.pubAPI
	}
	c, err := client.Join(ctx, wsURL(r.cfg.Target), room, name, client.Options{API: api,
		OnTrack: func(_ wire.Track, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { r.rec.readTrack(rp, t) }})
	if err != nil {
		return nil, err
	}
	p := &nativePeer{c: c}
	if m != nil && m.simulcast {
		if m.sim, err = c.PublishSimulcast(ctx, "video", name); err != nil {
			c.Close()
			return nil, err
		}
		go drainRTCP(m.sim.Sender)
		sender, err := c.Publish(ctx, m.audio, "microphone")
		if err != nil {
			c.Close()
			return nil, err
		}
		go drainRTCP(sender)
	} else if m != nil {
		for _, t := range []struct {
			track  *webrtc.TrackLocalStaticRTP
			source string
		}{{m.video, "camera"}, {m.audio, "microphone"}} {
			sender, err := c.Publish(ctx, t.track, t.source)
			if err != nil {
				c.Close()
				return nil, err
			}
			go drainRTCP(sender)
		}
	}
	if err := c.WaitConnected(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return p, nil
}

// wsURL is the native signaling URL of the server at target.
func wsURL(target string) string {
	return "ws" + strings.TrimPrefix(target, "http") + "/ws"
}
