package bwe

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
)

// link is a sender and a receiver on a virtual network whose capacity towards
// the receiver is shaped (a token bucket with a bounded queue).
type link struct {
	router         *vnet.Router
	shaper         *vnet.TBFQueue
	sender, recver *webrtc.PeerConnection
	estimators     *Registry
}

func newLink(t *testing.T, capacity int) *link {
	t.Helper()
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelError
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sendNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	recvNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	// About 60 ms of queue at the start capacity: a router's buffer.
	shaper := vnet.NewTBFQueue(capacity, 3000, int64(capacity/8*60/1000))
	shaped, err := vnet.NewQueue(recvNet, shaper)
	if err != nil {
		t.Fatal(err)
	}
	if err := router.AddNet(sendNet); err != nil {
		t.Fatal(err)
	}
	if err := router.AddNet(shaped); err != nil {
		t.Fatal(err)
	}
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	l := &link{router: router, shaper: shaper}

	// The sender is configured as the server's subscriber connections are.
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if l.estimators, err = Register(m, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: quiet}
	se.SetNet(sendNet)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	sendAPI := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))

	// The receiver sends TWCC feedback, as browsers do.
	rm := &webrtc.MediaEngine{}
	if err := rm.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	rreg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(rm, rreg); err != nil {
		t.Fatal(err)
	}
	re := webrtc.SettingEngine{LoggerFactory: quiet}
	re.SetNet(recvNet)
	re.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	recvAPI := webrtc.NewAPI(webrtc.WithMediaEngine(rm), webrtc.WithInterceptorRegistry(rreg), webrtc.WithSettingEngine(re))

	if l.sender, err = sendAPI.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if l.recver, err = recvAPI.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = l.sender.Close()
		_ = l.recver.Close()
		_ = router.Stop()
	})
	return l
}

// connect negotiates, with every candidate gathered first.
func (l *link) connect(t *testing.T) {
	t.Helper()
	offer, err := l.sender.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(l.sender)
	if err := l.sender.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := l.recver.SetRemoteDescription(*l.sender.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := l.recver.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(l.recver)
	if err := l.recver.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := l.sender.SetRemoteDescription(*l.recver.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}

// TestEstimateFollowsCapacity sends video at the estimate, as the server does, over
// a link of 2 Mbit/s, then 600 kbit/s, then 2 Mbit/s again: the estimate falls
// under the new capacity within a few seconds and rises back within five.
func TestEstimateFollowsCapacity(t *testing.T) {
	l := newLink(t, 2_000_000)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := l.sender.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // feedback reaches the estimator through the interceptors
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	l.recver.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	l.connect(t)
	est := l.estimators.Take(l.sender.ID())
	if est == nil {
		t.Fatal("the sending connection has no estimator")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); send(ctx, track, est) }()
	defer wg.Wait()
	defer cancel()

	wait := func(what string, within time.Duration, ok func(uint64) bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		var trail []string
		for {
			e := est.Estimate()
			trail = append(trail, fmt.Sprintf("%.2f", float64(e)/1e6))
			if ok(e) {
				t.Logf("%s: estimates (Mbit/s, every 250 ms) %v", what, trail)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v; estimates (Mbit/s, every 250 ms) %v", what, within, trail)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	wait("at 2 Mbit/s, settles under it", 10*time.Second, func(e uint64) bool { return e < 2_200_000 })
	l.shaper.SetRate(600_000)
	wait("at 600 kbit/s, falls under it", 5*time.Second, func(e uint64) bool { return e < 700_000 })
	l.shaper.SetRate(2_000_000)
	wait("at 2 Mbit/s again, rises", 5*time.Second, func(e uint64) bool { return e > 1_400_000 })
}

// send writes VP8-sized packets to track at the estimate until ctx ends.
func send(ctx context.Context, track *webrtc.TrackLocalStaticRTP, est *Estimator) {
	const size = 1100
	var credit float64 // bytes that may be sent
	var total uint64   // bytes sent
	payload := make([]byte, size)
	payload[0] = 0x10
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}, Payload: payload}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		credit += float64(est.Estimate()) / 8 / 100
		for ; credit >= size; credit -= size {
			pkt.SequenceNumber++
			pkt.Timestamp = uint32(n * 900)
			if err := track.WriteRTP(&pkt); err != nil {
				return
			}
			total += uint64(pkt.MarshalSize())
		}
		est.Sent(total)
	}
}

// fakeGCC is a GCC whose target and signals a test sets.
type fakeGCC struct {
	target, delayTarget int
	usage               string
	loss                float64
}

func (f *fakeGCC) GetTargetBitrate() int { return f.target }
func (f *fakeGCC) GetStats() map[string]any {
	return map[string]any{"usage": f.usage, "averageLoss": f.loss, "delayTargetBitrate": f.delayTarget}
}

// TestEstimateAfterCongestion: a link that narrows from 3 Mbit/s to 300 kbit/s (90%
// of what is sent is lost, and GCC's loss-based target has crashed to its minimum)
// leaves an estimate of what arrived, backed off, not of GCC's target; once the
// congestion ends, the estimate is over the 3.2 Mbit/s of two top layers and audio
// within five seconds; it falls back at the next congestion, holds while the loss is
// between 2% and 10%, and rises again without loss.
func TestEstimateAfterCongestion(t *testing.T) {
	g := &fakeGCC{target: 3_000_000, delayTarget: 3_000_000, usage: "normal"}
	start := time.Now()
	e := newEstimator(g, start)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	e.sent(0, at(0))
	e.sent(3_000_000/8, at(time.Second))                                           // 3 Mbit/s sent
	g.target, g.delayTarget, g.usage, g.loss = Min, 300_000*85/100, "overuse", 0.3 // the loss average lags
	if got := e.update(at(time.Second)); got < 200_000 || got > 300_000 {
		t.Fatalf("at the onset: estimate %d, want about GCC's delay-based target, 85%% of the 300 kbit/s that arrived", got)
	}
	g.loss = 0.9
	if got := e.update(at(time.Second)); got < 200_000 || got > 300_000 {
		t.Fatalf("at 90%% loss of 3 Mbit/s sent: estimate %d, want about 85%% of the 300 kbit/s that arrived", got)
	}
	e.sent(3_000_000/8+250_000/8, at(2*time.Second)) // what fits is sent
	g.usage, g.loss = "normal", 0
	var took time.Duration
	for d := 2 * time.Second; d <= 10*time.Second; d += 250 * time.Millisecond {
		if e.update(at(d)) >= 3_200_000 {
			took = d - 2*time.Second
			break
		}
	}
	if took == 0 || took > 5*time.Second {
		t.Fatalf("not over 3.2 Mbit/s within 5 s of the congestion's end (took %v)", took)
	}
	g.target, g.usage = 1_000_000, "overuse"
	if got := e.update(at(11 * time.Second)); got > 1_000_000 {
		t.Errorf("at the next congestion: estimate %d, want at most GCC's target of 1 Mbit/s", got)
	}
	g.usage, g.loss = "normal", 0.05
	held, later := e.update(at(13*time.Second)), e.update(at(14*time.Second))
	if later != held {
		t.Errorf("at 5%% loss: estimate moved from %d to %d, want it held", held, later)
	}
	g.loss = 0
	if got := e.update(at(15 * time.Second)); got <= later {
		t.Errorf("with the loss gone: estimate %d, want it over %d", got, later)
	}
}
