package server_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestSFURoom runs a room through its life: three participants publish and receive
// each other, a fourth joins late and gets everything (from the cached keyframes), one
// leaves and the others stop receiving it.
func TestSFURoom(t *testing.T) {
	run(t, func(t *testing.T, m mode) { testSFURoom(t, m, server.Config{}) })
}

// TestSFURoomPortPerConnection is TestSFURoom with every connection on UDP ports of
// its own instead of the one shared port.
func TestSFURoomPortPerConnection(t *testing.T) {
	testSFURoom(t, modeWS, server.Config{Media: sfu.Config{PortPerConnection: true}})
}

func testSFURoom(t *testing.T, m mode, cfg server.Config) {
	ts := startServerWith(t, m, cfg)
	if shared := ts.UDPPort() != 0; shared == cfg.Media.PortPerConnection {
		t.Fatalf("shared UDP port %d with PortPerConnection %v", ts.UDPPort(), cfg.Media.PortPerConnection)
	}
	const room = "standup"
	peers := []*peer{joinPeer(t, ts, room, "alice"), joinPeer(t, ts, room, "bob"), joinPeer(t, ts, room, "carol")}
	for _, p := range peers {
		p.publishAV()
	}
	for i, p := range peers {
		p.receivesFrom(t, 20, others(peers, i)...)
	}

	// The publishers send a keyframe every second: dave's video starts from the
	// keyframe each track has cached, without asking its publisher for one.
	metrics := newScraper(t, ts)
	fastStarts := metrics.scrape().value("switchboard_fast_starts_total", "kind", "video")
	dave := joinPeer(t, ts, room, "dave")
	dave.receivesFrom(t, 20, peers...)
	if n := metrics.scrape().value("switchboard_fast_starts_total", "kind", "video") - fastStarts; n != float64(len(peers)) {
		t.Errorf("dave's video started from a cached keyframe %v times, want %d", n, len(peers))
	}

	alice := peers[0]
	aliceID := alice.Self.ID
	if m != modeWS {
		// Over SSE a closed stream may come back within the grace period: only a
		// leave ends the participant at once.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := alice.Leave(ctx); err != nil {
			t.Fatalf("alice: leave: %v", err)
		}
		cancel()
	}
	alice.close()
	rest := append(peers[1:], dave)
	for _, p := range rest {
		waitFor(t, 10*time.Second, func() (bool, string) {
			for _, tr := range p.ReceivingTracks() {
				if tr.Participant == aliceID {
					return false, fmt.Sprintf("%s's subscriber connection still carries alice's %s", p.name, tr.Kind)
				}
			}
			return true, ""
		})
		// Her tracks end on p's side: no packet of hers can come after.
		waitFor(t, 10*time.Second, func() (bool, string) {
			ended, open := p.endedFrom(aliceID)
			return ended, fmt.Sprintf("%s still reads %d of alice's tracks after she left", p.name, open)
		})
	}
	bob, carol := peers[1], peers[2]
	bob.receivesFrom(t, 10, carol)
	carol.receivesFrom(t, 10, bob)
	dave.receivesFrom(t, 10, bob, carol)
	if got := len(ts.Rooms().Room(room).Participants()); got != 3 {
		t.Errorf("room has %d participants after alice left, want 3", got)
	}
}

func others(peers []*peer, i int) []*peer {
	var out []*peer
	for j, p := range peers {
		if j != i {
			out = append(out, p)
		}
	}
	return out
}

// TestKeyframeRequestReachesPublisher checks that a subscriber's PLI reaches the
// publisher of the track it names.
func TestKeyframeRequestReachesPublisher(t *testing.T) {
	ts := startServer(t)
	alice := joinPeer(t, ts, "pli", "alice")
	alice.publishAV()
	bob := joinPeer(t, ts, "pli", "bob")
	bob.receivesFrom(t, 10, alice)
	ssrc, ok := bob.receivedSSRC(alice.Self.ID, "video")
	if !ok {
		t.Fatal("bob has no video track from alice")
	}
	// Past the throttle interval of the request made when bob subscribed.
	time.Sleep(600 * time.Millisecond)
	before := alice.keyframeRequests.Load()
	if err := bob.WriteSubscriberRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() (bool, string) {
		n := alice.keyframeRequests.Load()
		return n > before, fmt.Sprintf("alice has %d keyframe requests, %d before bob's PLI", n, before)
	})
}

// TestUnpublish stops a screen share: the others are told and their subscriber
// connections stop carrying it, while the camera goes on.
func TestUnpublish(t *testing.T) {
	ts := startServer(t)
	alice := joinPeer(t, ts, "share", "alice")
	alice.publishAV()
	screen, err := client.NewVideoTrack("screen", "alice-screen")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sender, err := alice.Publish(ctx, screen, "screen")
	if err != nil {
		t.Fatal(err)
	}
	mediaCtx, stopScreen := context.WithCancel(context.Background())
	defer stopScreen()
	go client.SendSynthetic(mediaCtx, screen, 200_000)

	bob := joinPeer(t, ts, "share", "bob")
	waitFor(t, 10*time.Second, func() (bool, string) {
		return bob.packetsFromSource(alice.Self.ID, "screen") > 10, "bob has not received alice's screen share"
	})

	if err := alice.Unpublish(ctx, sender); err != nil {
		t.Fatal(err)
	}
	stopScreen()
	waitFor(t, 5*time.Second, func() (bool, string) {
		for _, tr := range bob.ReceivingTracks() {
			if tr.Source == "screen" {
				return false, "bob's subscriber connection still carries the screen share"
			}
		}
		return true, ""
	})
	expectEvent(t, bob.Client, func(m client.Event) bool {
		return m.Type == "track-unpublished" && m.Track().Source == "screen" && m.Track().Participant == alice.Self.ID
	}, "track-unpublished for alice's screen")
	bob.receivesFrom(t, 10, alice)
}

// expectEvent waits for an event that match accepts.
func expectEvent(t *testing.T, c *client.Client, match func(client.Event) bool, what string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.Events():
			if match(m) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s within 5s", what)
		}
	}
}

// TestRestartedMlineRefused checks that an offer in which a stopped m-line sends
// again is refused with invalid-sdp, and that a new transceiver publishes as usual.
func TestRestartedMlineRefused(t *testing.T) {
	ts := startServer(t)
	alice := joinPeer(t, ts, "restart", "alice")
	bob := joinPeer(t, ts, "restart", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mediaCtx, stopMedia := context.WithCancel(context.Background())
	defer stopMedia()

	first, err := client.NewVideoTrack("screen-1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := alice.Publish(ctx, first, "screen")
	if err != nil {
		t.Fatal(err)
	}
	go client.SendSynthetic(mediaCtx, first, 100_000)
	waitFor(t, 10*time.Second, func() (bool, string) {
		return bob.packetsFromSource(alice.Self.ID, "screen") > 5, "bob has not received the first share"
	})
	// The offer that published the first share, sent again: its m-line sends.
	stale := alice.PublisherConnection().CurrentLocalDescription().SDP
	if err := alice.Unpublish(ctx, sender); err != nil {
		t.Fatal(err)
	}
	reply, err := alice.Request(ctx, wire.TypePublishOffer, wire.PublishOffer{SDP: stale, Sources: map[string]string{"0": "screen"}})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Type != "error" || reply.Error().Code != "invalid-sdp" || !strings.Contains(reply.Error().Message, "stopped sending") {
		t.Fatalf("restarting a stopped m-line got %+v, want invalid-sdp saying it stopped sending", reply)
	}

	// A new transceiver publishes.
	second, err := client.NewVideoTrack("screen-2", "s2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Publish(ctx, second, "screen"); err != nil {
		t.Fatal(err)
	}
	go client.SendSynthetic(mediaCtx, second, 100_000)
	waitFor(t, 10*time.Second, func() (bool, string) {
		for _, tr := range bob.ReceivingTracks() {
			if tr.Source == "screen" && bob.packetsFromTrack(tr.ID) > 5 {
				return true, ""
			}
		}
		return false, "bob does not receive the second share"
	})
}

// TestCloseReleasesUDPPort checks that Close closes the shared media sockets: the
// port can be bound again at once, by another socket or another server.
func TestCloseReleasesUDPPort(t *testing.T) {
	checkGoroutines(t) // the sockets' readers end too
	srv, err := server.New(server.Config{Media: sfu.Config{ICELoopback: true}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	port := srv.UDPPort()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatalf("port %d still held after Close: %v", port, err)
	}
	_ = conn.Close()
	again, err := server.New(server.Config{Media: sfu.Config{ICELoopback: true, UDPPort: uint16(port)}, Logger: testLogger()})
	if err != nil {
		t.Fatalf("a new server on port %d: %v", port, err)
	}
	if again.UDPPort() != port {
		t.Errorf("new server on port %d, asked for %d", again.UDPPort(), port)
	}
	_ = again.Close()
}
