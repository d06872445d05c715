package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
)

// sfuwsPeer is a client of Pion's sfu-ws example protocol, written from
// docs/compat.md: one peer connection with a camera and a microphone added before the
// server's first offer; it answers every offer and trickles candidates, each message
// {"event", "data": "<JSON string>"}.
type sfuwsPeer struct {
	t    *testing.T
	ws   *websocket.Conn
	pc   *webrtc.PeerConnection
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	writeMu sync.Mutex
	mu      sync.Mutex
	packets map[string]*atomic.Uint64 // by stream id (the sender's participant id) + kind
	pending []webrtc.ICECandidateInit // until the first offer is applied
	offers  atomic.Int64
}

func joinSFUWS(t *testing.T, url string) *sfuwsPeer {
	t.Helper()
	p := &sfuwsPeer{t: t, packets: map[string]*atomic.Uint64{}}
	p.ctx, p.stop = context.WithCancel(context.Background())
	dctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatalf("sfu-ws: dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	p.ws = ws
	api, err := client.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	p.addMedia()
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.send("candidate", c.ToJSON())
		}
	})
	p.pc.OnTrack(p.onTrack)
	p.wg.Add(1)
	go p.readLoop()
	return p
}

func (p *sfuwsPeer) addMedia() {
	video, err := client.NewVideoTrack("video", "sfu-ws")
	if err != nil {
		p.t.Fatal(err)
	}
	audio, err := client.NewAudioTrack("audio", "sfu-ws")
	if err != nil {
		p.t.Fatal(err)
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{video, audio} {
		sender, err := p.pc.AddTrack(tr)
		if err != nil {
			p.t.Fatal(err)
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); client.SendSynthetic(p.ctx, tr, 300_000) }()
		go func() {
			defer p.wg.Done()
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
}

// send writes {"event": event, "data": JSON of v as a string}.
func (p *sfuwsPeer) send(event string, v any) {
	data, _ := json.Marshal(v)
	msg, _ := json.Marshal(map[string]string{"event": event, "data": string(data)})
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	_ = p.ws.Write(p.ctx, websocket.MessageText, msg)
}

func (p *sfuwsPeer) readLoop() {
	defer p.wg.Done()
	for {
		_, b, err := p.ws.Read(p.ctx)
		if err != nil {
			return
		}
		var m struct{ Event, Data string }
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Errorf("sfu-ws: server sent %q", b)
			return
		}
		switch m.Event {
		case "offer":
			p.answer(m.Data)
		case "candidate":
			var c webrtc.ICECandidateInit
			if err := json.Unmarshal([]byte(m.Data), &c); err != nil {
				p.t.Errorf("sfu-ws: candidate data %q", m.Data)
				return
			}
			p.addCandidate(c)
		default:
			p.t.Errorf("sfu-ws: unknown event %q", m.Event)
		}
	}
}

// fail reports a protocol failure, unless the peer is closing (its connection then
// refuses everything, and close cancels ctx before closing it).
func (p *sfuwsPeer) fail(format string, args ...any) {
	if p.ctx.Err() == nil {
		p.t.Errorf(format, args...)
	}
}

func (p *sfuwsPeer) answer(data string) {
	var offer webrtc.SessionDescription
	if err := json.Unmarshal([]byte(data), &offer); err != nil || offer.Type != webrtc.SDPTypeOffer {
		p.fail("sfu-ws: offer data %q", data)
		return
	}
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		p.fail("sfu-ws: apply offer: %v", err)
		return
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		p.fail("sfu-ws: answer: %v", err)
		return
	}
	p.offers.Add(1)
	p.send("answer", answer)
	p.mu.Lock()
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, c := range pending {
		_ = p.pc.AddICECandidate(c)
	}
}

func (p *sfuwsPeer) addCandidate(c webrtc.ICECandidateInit) {
	p.mu.Lock()
	if p.offers.Load() == 0 {
		p.pending = append(p.pending, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = p.pc.AddICECandidate(c)
}

func (p *sfuwsPeer) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := track.StreamID() + "/" + track.Kind().String()
	p.mu.Lock()
	n := p.packets[key]
	if n == nil {
		n = &atomic.Uint64{}
		p.packets[key] = n
	}
	p.mu.Unlock()
	buf := make([]byte, 1500)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
		n.Add(1)
	}
}

func (p *sfuwsPeer) received(participant, kind string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.packets[participant+"/"+kind]; n != nil {
		return n.Load()
	}
	return 0
}

func (p *sfuwsPeer) close() {
	p.stop()
	_ = p.ws.CloseNow()
	_ = p.pc.Close()
	p.wg.Wait()
}

// TestSFUWSCompat puts a client of the sfu-ws protocol and native clients (over each
// native transport) in one room: each receives the other's audio and video.
func TestSFUWSCompat(t *testing.T) {
	// The sfu-ws client needs WebSocket over HTTP/1.1, which the HTTP/2 test server
	// does not serve; the native peer uses each transport of that server.
	for _, m := range []mode{modeWS, modeSSE} {
		t.Run(string(m), func(t *testing.T) { testSFUWSCompat(t, m) })
	}
}

func testSFUWSCompat(t *testing.T, m mode) {
	ts := startServerWith(t, m, server.Config{})
	const room = "mixed"
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/compat/sfu-ws?room=" + room
	legacy := joinSFUWS(t, wsURL)
	native := joinPeer(t, ts, room, "native")
	native.publishAV()

	legacyID := ""
	waitFor(t, 10*time.Second, func() (bool, string) {
		for _, pi := range ts.Rooms().Room(room).Participants() {
			if pi.Name == "sfu-ws" {
				legacyID = string(pi.ID)
			}
		}
		return legacyID != "", "the sfu-ws client is not in the room"
	})
	waitFor(t, 15*time.Second, func() (bool, string) {
		for _, kind := range []string{"audio", "video"} {
			if n := native.packetsFrom(legacyID, kind); n < 20 {
				return false, fmt.Sprintf("native has %d %s packets from the sfu-ws client", n, kind)
			}
			if n := legacy.received(native.Self.ID, kind); n < 20 {
				return false, fmt.Sprintf("the sfu-ws client has %d %s packets from native", n, kind)
			}
		}
		return true, ""
	})

	// Someone joining later, over the other native transport, reaches the sfu-ws
	// client in a renegotiation of its one connection, and the other way round: three
	// transports in one room.
	offers := legacy.offers.Load()
	other := modeSSE
	if m == modeSSE {
		other = modeWS
	}
	late := joinPeerWith(t, ts, other, ts.client, room, "late")
	late.publishAV()
	native.receivesFrom(t, 20, late)
	late.receivesFrom(t, 20, native)
	waitFor(t, 15*time.Second, func() (bool, string) {
		for _, kind := range []string{"audio", "video"} {
			if n := legacy.received(late.Self.ID, kind); n < 20 {
				return false, fmt.Sprintf("the sfu-ws client has %d %s packets from late (%d offers answered, %d before)",
					n, kind, legacy.offers.Load(), offers)
			}
			if n := late.packetsFrom(legacyID, kind); n < 20 {
				return false, fmt.Sprintf("late has %d %s packets from the sfu-ws client", n, kind)
			}
		}
		return true, ""
	})
}

// TestSFUWSBadInput sends what the sfu-ws protocol does not allow: the connection is
// closed with 1008 and a reason, and the native participant in the room is unaffected.
func TestSFUWSBadInput(t *testing.T) {
	ts := startServer(t)
	const room = "compat-bad"
	native := joinPeer(t, ts, room, "native")
	native.publishAV()
	watcher := joinPeer(t, ts, room, "watcher")
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/compat/sfu-ws?room=" + room
	for _, c := range []struct{ name, frame, says string }{
		{"not JSON", `hello`, "not a JSON object"},
		{"unknown event", `{"event":"subscribe","data":"{}"}`, "unknown event"},
		{"answer that is not JSON", `{"event":"answer","data":"v=0"}`, "answer data"},
		{"offer where an answer goes", `{"event":"answer","data":"{\"type\":\"offer\",\"sdp\":\"v=0\"}"}`, "answer data"},
		{"malformed candidate", `{"event":"candidate","data":"{\"candidate\":\"candidate:nonsense\"}"}`, "candidate"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.Write(ctx, websocket.MessageText, []byte(c.frame)); err != nil {
			t.Fatal(err)
		}
		var closeErr websocket.CloseError
		for err == nil {
			_, _, err = ws.Read(ctx) // the server's offer and candidates, then the close
		}
		cancel()
		if !errors.As(err, &closeErr) || closeErr.Code != websocket.StatusPolicyViolation ||
			!strings.Contains(closeErr.Reason, c.says) {
			t.Errorf("%s: %v, want close 1008 saying %q", c.name, err, c.says)
		}
		_ = ws.CloseNow()
	}
	watcher.receivesFrom(t, 20, native)
	waitFor(t, 5*time.Second, func() (bool, string) {
		n := len(ts.Rooms().Room(room).Participants())
		return n == 2, fmt.Sprintf("%d participants in the room, want the 2 native ones", n)
	})
}
