package bwe

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
)

// link is a sender and a receiver on a virtual network whose capacity towards
// the receiver is shaped (a token bucket with a bounded queue).
type link struct {
	router         *vnet.Router
	shaper         *vnet.TBFQueue
	sender, recver *webrtc.PeerConnection
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
	if err := Configure(m); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: quiet}
	se.SetNet(sendNet)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	sendAPI := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
		webrtc.WithSettingEngine(se))

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

// feedbackLink is a link carrying one video track from a sender whose estimator
// reads the receiver's feedback, as a subscriber's RTCP reader gives it.
type feedbackLink struct {
	*link
	track     *webrtc.TrackLocalStaticRTP
	est       *Estimator
	twccID    uint8
	feedbacks atomic.Int64 // RTCP datagrams that carried transport-wide feedback
}

func newFeedbackLink(t *testing.T, capacity int) *feedbackLink {
	t.Helper()
	fl := &feedbackLink{link: newLink(t, capacity), est: New()}
	var err error
	fl.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := fl.sender.AddTrack(fl.track)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := sender.Read(buf)
			if err != nil {
				return
			}
			if hasFeedback(buf[:n]) {
				fl.feedbacks.Add(1)
			}
			fl.est.FeedbackIn(buf[:n])
		}
	}()
	fl.recver.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	fl.connect(t)
	for _, e := range sender.GetParameters().HeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			fl.twccID = uint8(e.ID)
		}
	}
	if fl.twccID == 0 {
		t.Fatal("the receiver did not accept the TWCC header extension")
	}
	return fl
}

// hasFeedback reports whether the compound RTCP packet b holds a transport-wide
// feedback.
func hasFeedback(b []byte) bool {
	for len(b) >= 4 {
		if IsFeedback(b) {
			return true
		}
		size := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if size > len(b) {
			return false
		}
		b = b[size:]
	}
	return false
}

// sendAt runs send until the test ends.
func (fl *feedbackLink) sendAt(t *testing.T, rate func() uint64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); send(ctx, fl.track, fl.est, fl.twccID, rate) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// wait polls the estimate every 250 ms until ok accepts it, for at most within.
func (fl *feedbackLink) wait(t *testing.T, what string, within time.Duration, ok func(uint64) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	var trail []string
	for {
		e := fl.est.Estimate()
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

// TestEstimateFollowsCapacity sends video at the estimate, as the server does, over
// a link of 2 Mbit/s, then 600 kbit/s, then 2 Mbit/s again: the estimate falls
// under the new capacity within a few seconds and rises back within five.
func TestEstimateFollowsCapacity(t *testing.T) {
	fl := newFeedbackLink(t, 2_000_000)
	fl.sendAt(t, fl.est.Estimate)
	fl.wait(t, "at 2 Mbit/s, settles under it", 10*time.Second, func(e uint64) bool { return e < 2_200_000 })
	fl.shaper.SetRate(600_000)
	fl.wait(t, "at 600 kbit/s, falls under it", 5*time.Second, func(e uint64) bool { return e < 700_000 })
	fl.shaper.SetRate(2_000_000)
	fl.wait(t, "at 2 Mbit/s again, rises", 5*time.Second, func(e uint64) bool { return e > 1_400_000 })
}

// TestSparseFeedback sends 800 kbit/s over a link of 2 Mbit/s with an estimate the
// allocation calls ample: the receiver sends well under the feedback it sends when
// every packet is stamped (one every 100 ms; with the windows two in every 500 ms,
// two fifths), and a fall of the link to 400 kbit/s still brings the estimate under
// what is sent within 3 s.
func TestSparseFeedback(t *testing.T) {
	fl := newFeedbackLink(t, 2_000_000)
	fl.sendAt(t, func() uint64 { return 800_000 })
	perSecond := func() float64 {
		before := fl.feedbacks.Load()
		time.Sleep(2 * time.Second)
		return float64(fl.feedbacks.Load()-before) / 2
	}
	time.Sleep(time.Second)
	every := perSecond()
	fl.est.SetAmple(true)
	time.Sleep(time.Second)
	sparse := perSecond()
	t.Logf("feedback packets a second: %.1f with every packet stamped, %.1f in measurement windows", every, sparse)
	if every < 5 || sparse > every*0.6 {
		t.Errorf("feedback packets a second: %.1f with every packet stamped, %.1f in measurement windows; want at most 60 %%", every, sparse)
	}
	fl.shaper.SetRate(400_000)
	fl.wait(t, "at 400 kbit/s, falls under the 800 kbit/s sent", 3*time.Second, func(e uint64) bool { return e < 800_000 })
	if !fl.est.Measures(time.Now().UnixNano() + int64(sparseWindow)) {
		t.Error("after the congestion, packets outside the windows are still not stamped")
	}
}

// send writes VP8-sized packets to track at rate bits a second until ctx ends, each
// stamped with a transport-wide sequence number when the estimator measures, as a
// DownTrack does.
func send(ctx context.Context, track *webrtc.TrackLocalStaticRTP, est *Estimator, twccID uint8, rate func() uint64) {
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
		credit += float64(rate()) / 8 / 100
		for ; credit >= size; credit -= size {
			pkt.SequenceNumber++
			pkt.Timestamp = uint32(n * 900)
			pkt.Header.Extensions = pkt.Header.Extensions[:0]
			pkt.Header.Extension = false
			if now := time.Now().UnixNano(); est.Measures(now) {
				var seq [2]byte
				_ = pkt.Header.SetExtension(twccID, seq[:]) // keeps seq's bytes
				binary.BigEndian.PutUint16(seq[:], est.Stamp(pkt.MarshalSize(), now))
			}
			if err := track.WriteRTP(&pkt); err != nil {
				return
			}
			total += uint64(pkt.MarshalSize())
		}
		est.Sent(total)
	}
}

// congest makes the signals since the last update those of a congested path: the
// delay trend said overuse, lost of reported packets were lost, and received
// bits a second arrived (0: no rate measured).
func congest(e *Estimator, overuse bool, lost, reported int, received float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.overused, e.lost, e.reported = overuse, lost, reported
	if received > 0 {
		e.haveArrive, e.firstArrive, e.lastArrive = true, 0, 500_000
		e.recvBytes = int(received / 8 / 2) // over half a second
	}
}

// TestEstimateAfterCongestion: a link that narrows from 3 Mbit/s to 300 kbit/s
// leaves an estimate of what arrived, backed off; once the congestion ends, the
// estimate is over the 3.2 Mbit/s of two top layers and audio within five seconds;
// it falls back at the next congestion, holds while the loss is between 2% and 10%,
// and rises again without loss.
func TestEstimateAfterCongestion(t *testing.T) {
	start := time.Now()
	e := newEstimator(start)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	e.sent(0, at(0))
	e.sent(3_000_000/8, at(time.Second)) // 3 Mbit/s sent
	congest(e, true, 0, 100, 300_000)
	if got := e.update(at(time.Second)); got < 200_000 || got > 300_000 {
		t.Fatalf("at the onset (delay overuse): estimate %d, want about 85%% of the 300 kbit/s that arrived", got)
	}
	congest(e, false, 90, 100, 0) // only loss, no rate measured
	e.sent(3_000_000/8+3_000_000/8, at(2*time.Second))
	if got := e.update(at(2 * time.Second)); got < 200_000 || got > 300_000 {
		t.Fatalf("at 90%% loss of 3 Mbit/s sent: estimate %d, want about 85%% of the 300 kbit/s that arrived", got)
	}
	var took time.Duration
	for d := 2*time.Second + 250*time.Millisecond; d <= 10*time.Second; d += 250 * time.Millisecond {
		if e.update(at(d)) >= 3_200_000 {
			took = d - 2*time.Second
			break
		}
	}
	if took == 0 || took > 5*time.Second {
		t.Fatalf("not over 3.2 Mbit/s within 5 s of the congestion's end (took %v)", took)
	}
	e.sent(3_000_000/8+3_000_000/8+1_000_000/8*9, at(11*time.Second)) // 1 Mbit/s sent
	congest(e, true, 0, 100, 1_000_000)
	if got := e.update(at(11 * time.Second)); got > 1_000_000 {
		t.Errorf("at the next congestion: estimate %d, want at most the 1 Mbit/s that arrived", got)
	}
	congest(e, false, 5, 100, 0)
	held := e.update(at(13 * time.Second))
	congest(e, false, 5, 100, 0)
	later := e.update(at(14 * time.Second))
	if later != held {
		t.Errorf("at 5%% loss: estimate moved from %d to %d, want it held", held, later)
	}
	if got := e.update(at(15 * time.Second)); got <= later {
		t.Errorf("with the loss gone: estimate %d, want it over %d", got, later)
	}
	if got, again := e.update(at(16*time.Second)), e.update(at(16*time.Second+time.Millisecond)); got != again {
		t.Errorf("asked twice within a millisecond: %d then %d, want the same", got, again)
	}
}

// TestMeasurementWindows: every packet is stamped until the allocation says the
// estimate is ample; then only those of one window of 100 ms in every 500 ms, until a
// congestion, and again 2 s after it, until the estimate is no longer ample.
func TestMeasurementWindows(t *testing.T) {
	start := time.Now()
	e := newEstimator(start)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	// measured counts the packets stamped of one sent every millisecond for a second
	// from from.
	measured := func(from time.Duration) int {
		n := 0
		for ms := range 1000 {
			if e.Measures(at(from + time.Duration(ms)*time.Millisecond).UnixNano()) {
				n++
			}
		}
		return n
	}
	if n := measured(0); n != 1000 {
		t.Errorf("before any allocation: %d of 1000 packets stamped, want all", n)
	}
	e.setAmple(true, at(time.Second))
	if n := measured(time.Second); n != 200 {
		t.Errorf("with an ample estimate: %d of 1000 packets stamped, want the 200 of two windows", n)
	}
	congest(e, true, 0, 100, 300_000)
	e.update(at(2 * time.Second))
	if n := measured(2 * time.Second); n != 1000 {
		t.Errorf("at a congestion: %d of 1000 packets stamped, want all", n)
	}
	e.update(at(3 * time.Second))
	if n := measured(3 * time.Second); n != 1000 {
		t.Errorf("1 s after the congestion: %d of 1000 packets stamped, want all", n)
	}
	e.update(at(4 * time.Second))
	if n := measured(4 * time.Second); n != 200 {
		t.Errorf("2 s after the congestion: %d of 1000 packets stamped, want 200", n)
	}
	e.setAmple(false, at(5*time.Second))
	if n := measured(5 * time.Second); n != 1000 {
		t.Errorf("with the estimate no longer ample: %d of 1000 packets stamped, want all", n)
	}
	if n := testing.AllocsPerRun(1000, func() { e.Measures(time.Now().UnixNano()) }); n != 0 {
		t.Errorf("Measures allocates %v times", n)
	}
}

// TestDelayTrend: packets that arrive as they were sent are normal usage; a queue
// that grows (each group a millisecond later than the one before) is overuse
// within half a second; one that drains is underuse.
func TestDelayTrend(t *testing.T) {
	d := newDelayDetector()
	const gap = 10_000 // a group every 10 ms
	sent, delay := int64(0), int64(20_000)
	step := func(growth int64) usage {
		sent += gap
		delay += growth
		return d.packet(sent, sent+delay)
	}
	for range 200 {
		if u := step(0); u != usageNormal {
			t.Fatalf("steady delay: usage %d, want normal", u)
		}
	}
	over := 0
	for i := range 50 {
		if step(1_000) == usageOver {
			over = i + 1
			break
		}
	}
	if over == 0 {
		t.Fatal("a delay growing 1 ms every 10 ms: no overuse within 500 ms")
	}
	t.Logf("overuse after %d groups", over)
	under := false
	for range 50 {
		if step(-1_000) == usageUnder {
			under = true
			break
		}
	}
	if !under {
		t.Error("a queue draining 1 ms every 10 ms: no underuse within 500 ms")
	}
}

// TestFeedback stamps packets, has Pion's TWCC recorder (as a receiver runs)
// report their arrival with two lost, and checks what the estimator read: every
// packet reported, the lost ones counted, the bytes and times of the arrivals.
func TestFeedback(t *testing.T) {
	start := time.Now()
	e := newEstimator(start)
	rec := twcc.NewRecorder(1)
	for i := range 30 {
		seq := e.Stamp(1000, time.Now().UnixNano())
		if seq != uint16(i) {
			t.Fatalf("packet %d stamped %d", i, seq)
		}
		if i == 7 || i == 20 {
			continue // lost
		}
		rec.Record(2, seq, int64(10_000+i*1_000)) // a millisecond apart, in microseconds
	}
	pkts := rec.BuildFeedbackPacket()
	raw, err := rtcp.Marshal(pkts) // as it comes off the wire
	if err != nil {
		t.Fatal(err)
	}
	if others := e.feedbackIn(raw, start.Add(50*time.Millisecond)); others {
		t.Errorf("%d feedback packets read as other RTCP", len(pkts))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reported != 30 || e.lost != 2 {
		t.Errorf("reported %d, lost %d; want 30 and 2", e.reported, e.lost)
	}
	if span := e.lastArrive - e.firstArrive; span != 29_000 {
		t.Errorf("arrivals span %d µs, want 29000", span)
	}
	if e.recvBytes != 27*1000 {
		t.Errorf("bytes received after the first arrival: %d, want %d", e.recvBytes, 27*1000)
	}
}

// feedbackPacket is a raw transport-wide feedback: base, the count of statuses,
// chunks and deltas (deltas in 250 µs units, one byte each).
func feedbackPacket(base, count uint16, chunks []uint16, deltas []byte) []byte {
	b := []byte{0x80 | fmtTWCC, ptTransportFeedback, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}
	b = binary.BigEndian.AppendUint16(b, base)
	b = binary.BigEndian.AppendUint16(b, count)
	b = append(b, 0, 0, 1, 0) // reference time 1, feedback count 0
	for _, c := range chunks {
		b = binary.BigEndian.AppendUint16(b, c)
	}
	b = append(b, deltas...)
	if pad := (4 - len(b)%4) % 4; pad > 0 { // padding, as libwebrtc pads
		b = append(b, make([]byte, pad)...)
		b[len(b)-1] = byte(pad)
		b[0] |= 0x20
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)/4-1))
	return b
}

// TestFeedbackOfUnknownPackets: feedback on packets never sent, or malformed (more
// packets than deltas, more statuses than chunks, a length past the end), changes
// nothing and is refused where its framing is wrong.
func TestFeedbackOfUnknownPackets(t *testing.T) {
	e := New()
	runOf := func(status, n uint16) uint16 { return status<<13 | n }
	if err := e.Feedback(feedbackPacket(100, 5, []uint16{runOf(statusSmallDelta, 5)}, []byte{1, 1, 1, 1, 1})); err != nil {
		t.Errorf("feedback on packets never sent: %v", err)
	}
	e.Stamp(1000, time.Now().UnixNano())
	if err := e.Feedback(feedbackPacket(0, 1000, []uint16{runOf(statusLargeDelta, 1000)}, nil)); err != nil {
		t.Errorf("feedback with no deltas: %v, want it read as far as it goes", err)
	}
	if err := e.Feedback(feedbackPacket(0, 30, []uint16{runOf(statusSmallDelta, 5), runOf(statusNotReceived, 0)}, nil)); err != ErrMalformedRTCP {
		t.Errorf("30 statuses in a chunk of 5: %v, want ErrMalformedRTCP", err)
	}
	long := feedbackPacket(0, 1, []uint16{runOf(statusSmallDelta, 1)}, []byte{1})
	if err := e.Feedback(long[:len(long)-4]); err != ErrMalformedRTCP {
		t.Errorf("cut short: %v, want ErrMalformedRTCP", err)
	}
	if err := e.Feedback([]byte{0x80, 201, 0, 1, 0, 0, 0, 1}); err != ErrNotTWCC {
		t.Errorf("a receiver report: %v, want ErrNotTWCC", err)
	}
	e.mu.Lock()
	reported := e.reported
	e.mu.Unlock()
	if reported != 0 {
		t.Errorf("reported %d packets from feedback of unknown or undelivered ones", reported)
	}

	// A report claiming every sequence number from 600 round to 599 is read for its
	// first maxReportStatuses only: the packets sent (0-599) are not among them.
	for range 599 {
		e.Stamp(1000, time.Now().UnixNano())
	}
	var chunks []uint16
	for range 8 {
		chunks = append(chunks, runOf(statusNotReceived, 8191))
	}
	chunks = append(chunks, runOf(statusNotReceived, 65535-8*8191))
	if err := e.Feedback(feedbackPacket(600, 65535, chunks, nil)); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reported != 0 {
		t.Errorf("a report of 65535 packets from 600 on: %d of the packets sent read, want none (read as far as %d)", e.reported, maxReportStatuses)
	}
}

// TestFeedbackAllocatesNothing: feedback comes every 50-100 ms from every
// subscriber.
func TestFeedbackAllocatesNothing(t *testing.T) {
	e := New()
	for range 20 {
		e.Stamp(1000, time.Now().UnixNano())
	}
	fb := feedbackPacket(0, 20, []uint16{statusSmallDelta<<13 | 20}, make([]byte, 20))
	e.Feedback(fb)
	if n := testing.AllocsPerRun(100, func() { _ = e.Feedback(fb) }); n != 0 {
		t.Errorf("Feedback allocates %v times", n)
	}
}

// FuzzFeedback: no input read as feedback panics.
func FuzzFeedback(f *testing.F) {
	f.Add(feedbackPacket(0, 20, []uint16{statusSmallDelta<<13 | 20}, make([]byte, 20)))
	f.Add(feedbackPacket(3, 14, []uint16{0x8000 | 0x2aaa}, []byte{1, 2, 3, 4, 5, 6, 7}))
	f.Add(feedbackPacket(5, 7, []uint16{0xc000 | 0x2491}, []byte{1, 0, 2, 3, 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e := New()
		for range 40 {
			e.Stamp(1000, time.Now().UnixNano())
		}
		e.FeedbackIn(b)
		_ = e.Feedback(b)
		e.Estimate()
	})
}

// TestStampAllocatesNothing: numbering a packet is on the media hot path.
func TestStampAllocatesNothing(t *testing.T) {
	e := New()
	e.Stamp(1000, time.Now().UnixNano())
	if n := testing.AllocsPerRun(1000, func() { e.Stamp(1000, time.Now().UnixNano()) }); n != 0 {
		t.Errorf("Stamp allocates %v times a packet", n)
	}
}
