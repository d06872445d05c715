package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// vanishingUDP silences the UDP sockets of a vanishingAPI: once gone is set,
// whatever they send is dropped and whatever arrives is never delivered, like a
// network that vanished. Nothing says goodbye: no DTLS close_notify, no RTCP BYE
// gets out.
type vanishingUDP struct {
	gone atomic.Bool
}

// vanishingNet is the host's network whose UDP sockets vanishingUDP can silence.
type vanishingNet struct {
	*stdnet.Net
	udp *vanishingUDP
}

func (n vanishingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &vanishingConn{UDPConn: c, udp: n.udp}, nil
}

type vanishingConn struct {
	transport.UDPConn
	udp *vanishingUDP
}

func (c *vanishingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err != nil || !c.udp.gone.Load() {
			return n, addr, err
		}
	}
}

func (c *vanishingConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(p)
		if err != nil || !c.udp.gone.Load() {
			return n, addr, err
		}
	}
}

func (c *vanishingConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.udp.gone.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteTo(p, addr)
}

func (c *vanishingConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	if c.udp.gone.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteToUDP(p, addr)
}

// vanishingAPI is a Pion API whose connections use UDP sockets on loopback (one per
// connection, as a browser's) that the returned vanishingUDP can silence. tune, when
// given, changes its settings further.
func vanishingAPI(t *testing.T, tune ...func(*webrtc.SettingEngine)) (*webrtc.API, *vanishingUDP) {
	t.Helper()
	host, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	udp := &vanishingUDP{}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	var settings webrtc.SettingEngine
	settings.SetIncludeLoopbackCandidate(true)
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	settings.SetNet(vanishingNet{Net: host, udp: udp})
	for _, f := range tune {
		f(&settings)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(settings),
		webrtc.WithInterceptorRegistry(reg)), udp
}

// stallingConn is a TCP connection a test can stall: afterwards nothing more is
// written or read (reads block until Close, writes vanish), and the socket stays
// open, so no FIN or RST reaches the server, as when a network vanishes.
type stallingConn struct {
	net.Conn
	stalled   chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *stallingConn) Read(p []byte) (int, error) {
	select {
	case <-c.stalled:
		<-c.closed
		return 0, net.ErrClosed
	default:
	}
	n, err := c.Conn.Read(p)
	select {
	case <-c.stalled: // what arrived after the stall is never delivered
		<-c.closed
		return 0, net.ErrClosed
	default:
	}
	return n, err
}

func (c *stallingConn) Write(p []byte) (int, error) {
	select {
	case <-c.stalled:
		return len(p), nil
	default:
	}
	return c.Conn.Write(p)
}

func (c *stallingConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// stallingHTTP is an HTTP client (for the WebSocket's upgrade) whose connections
// stall together.
type stallingHTTP struct {
	*http.Client
	stalled chan struct{}
	once    sync.Once
}

func newStallingHTTP() *stallingHTTP {
	s := &stallingHTTP{stalled: make(chan struct{})}
	var d net.Dialer
	s.Client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &stallingConn{Conn: conn, stalled: s.stalled, closed: make(chan struct{})}, nil
	}}}
	return s
}

func (s *stallingHTTP) stall() { s.once.Do(func() { close(s.stalled) }) }

// TestVanishedClientLeaves: a participant whose network vanishes without a goodbye
// (no WebSocket close, no FIN, no DTLS close_notify) is removed, and the others are
// told: within 15 s by the WebSocket's pings, or by its media connections going
// silent (failed after 9 s) and not restarted within the ICE restart grace (10 s)
// while its signaling stays.
func TestVanishedClientLeaves(t *testing.T) {
	for _, tc := range []struct {
		name             string
		signaling, media bool // what vanishes
	}{
		{name: "network", signaling: true, media: true},
		{name: "media only", media: true},
		{name: "signaling only", signaling: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			bob := joinPeer(t, ts, "room", "bob")
			bob.publishAV()
			api, udp := vanishingAPI(t)
			hc := newStallingHTTP()
			alice := &peer{t: t, name: "alice", tracks: map[string]*receivedTrack{}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := client.Join(ctx, ts.WSURL, "room", "alice", client.Options{API: api, HTTPClient: hc.Client, OnTrack: alice.onTrack})
			if err != nil {
				t.Fatal(err)
			}
			alice.Client = c
			t.Cleanup(alice.close)
			alice.publishAV()
			// Both of alice's connections carry media.
			bob.receivesFrom(t, 20, alice)
			alice.receivesFrom(t, 20, bob)
			drain(bob.Client)

			start := time.Now()
			if tc.media {
				udp.gone.Store(true)
			}
			if tc.signaling {
				hc.stall()
			}
			within := 15 * time.Second
			if !tc.signaling {
				within = 25 * time.Second
			}
			expectEventWithin(t, bob.Client, within, func(m client.Event) bool {
				return m.Type == "participant-left" && m.Participant().ID == alice.Self.ID
			}, "participant-left for alice")
			took := time.Since(start)
			t.Logf("%s vanished: the others were told after %v", tc.name, took.Round(10*time.Millisecond))
			if grace := sfu.DefaultICEDisconnectedTimeout + sfu.DefaultICEFailedTimeout + sfu.DefaultICERestartGrace; !tc.signaling && took < grace-time.Second {
				t.Errorf("alice was removed %v after her media vanished: before her connections failed and the %v for an ICE restart passed",
					took.Round(10*time.Millisecond), sfu.DefaultICERestartGrace)
			}
			waitFor(t, 10*time.Second, func() (bool, string) {
				n := len(ts.Rooms().Room("room").Participants())
				return n == 1, fmt.Sprintf("%d participants in the room, want bob alone", n)
			})
			// bob is still served: a newcomer's media reaches him, which takes his
			// signaling (a new subscriber offer) and his media connection.
			carol := joinPeer(t, ts, "room", "carol")
			carol.publishAV()
			bob.receivesFrom(t, 20, carol)
		})
	}
}

// drain discards the events c has received so far.
func drain(c *client.Client) {
	for {
		select {
		case <-c.Events():
		default:
			return
		}
	}
}

// expectEventWithin waits up to timeout for an event that match accepts.
func expectEventWithin(t *testing.T, c *client.Client, timeout time.Duration, match func(client.Event) bool, what string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-c.Events():
			if match(m) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, timeout)
		}
	}
}

// TestSFUWSVanishedClientLeaves: an sfu-ws client whose connection stalls (no FIN, no
// close frame) is noticed by its unanswered pings and removed from the room within
// 15 s.
func TestSFUWSVanishedClientLeaves(t *testing.T) {
	ts := startServer(t)
	hc := newStallingHTTP()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/compat/sfu-ws?room=compat-vanish"
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc.Client})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	waitFor(t, 5*time.Second, func() (bool, string) {
		return ts.Rooms().Room("compat-vanish") != nil, "the sfu-ws client is not in its room yet"
	})
	start := time.Now()
	hc.stall()
	waitFor(t, 15*time.Second, func() (bool, string) {
		return ts.Rooms().Room("compat-vanish") == nil, "the vanished sfu-ws client is still in its room"
	})
	t.Logf("the vanished sfu-ws client was removed after %v", time.Since(start).Round(10*time.Millisecond))
}
