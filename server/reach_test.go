package server_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/internal/lonet"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// Tests of the ways a client reaches the server's media when its network blocks
// some: ICE over TCP, and the built-in TURN server. They drop packets on loopback
// with tc (internal/lonet): run them as root inside unshare -n.

// TestICETCPWhenUDPIsBlocked: a client that cannot reach the server's UDP port
// publishes and receives media over the ICE-TCP port.
func TestICETCPWhenUDPIsBlocked(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Media: sfuTCP()})
	if ts.ICETCPPort() == 0 {
		t.Fatal("no ICE-TCP port")
	}
	lonet.Drop(t, lonet.Rule{Proto: "udp", Port: ts.UDPPort()})
	a := joinPeer(t, ts, "tcp", "a")
	b := joinPeer(t, ts, "tcp", "b")
	a.publishAV()
	b.receivesFrom(t, 50, a)
	for name, pc := range map[string]*webrtc.PeerConnection{"a's publisher": a.PublisherConnection(),
		"b's subscriber": b.SubscriberConnection()} {
		pair := selectedPair(t, pc)
		if pair.Local.Protocol != webrtc.ICEProtocolTCP || pair.Remote.Port != uint16(ts.ICETCPPort()) {
			t.Errorf("%s connects over %s", name, pair)
		}
	}
}

// TestTURNWhenOnlyItIsReachable: clients that reach neither the server's UDP port nor
// its ICE-TCP port publish and receive media through the built-in TURN server, over
// UDP and over TCP, on relay candidates.
func TestTURNWhenOnlyItIsReachable(t *testing.T) {
	for _, over := range []string{"udp", "tcp"} {
		t.Run(over, func(t *testing.T) {
			// Relays are opened on 127.0.0.2, so that the client's own packets to
			// the media ports (from 127.0.0.1) can be dropped and the relay's not.
			// The client reaches the TURN server, which listens on every address,
			// at 127.0.0.1: over UDP, its answers come from there.
			ts := startServerWith(t, modeWS, server.Config{Media: sfuTCP(),
				TURN: &server.TURNConfig{RelayIP: netip.MustParseAddr("127.0.0.2"), Host: "127.0.0.1"}})
			turnPort, _ := ts.TURNPortsForTest()
			from := netip.MustParsePrefix("127.0.0.1/32")
			other := map[string]string{"udp": "tcp", "tcp": "udp"}[over]
			lonet.Drop(t, lonet.Rule{Proto: "udp", Port: ts.UDPPort(), From: from},
				lonet.Rule{Proto: "tcp", Port: ts.ICETCPPort()}, lonet.Rule{Proto: other, Port: turnPort})
			a := joinRelayPeer(t, ts, "relayed", "a")
			b := joinRelayPeer(t, ts, "relayed", "b")
			a.publishAV()
			b.receivesFrom(t, 50, a)
			for name, pc := range map[string]*webrtc.PeerConnection{"a's publisher": a.PublisherConnection(),
				"b's subscriber": b.SubscriberConnection()} {
				pair := selectedPair(t, pc)
				if pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Local.Address != "127.0.0.2" {
					t.Errorf("%s connects over %s", name, pair)
				}
			}
		})
	}
}

// joinRelayPeer joins a peer whose connections use relay candidates only.
func joinRelayPeer(t *testing.T, ts *testServer, room, name string) *peer {
	t.Helper()
	p := &peer{t: t, name: name, tracks: map[string]*receivedTrack{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, ts.WSURL, room, name, client.Options{OnTrack: p.onTrack,
		ICETransportPolicy: webrtc.ICETransportPolicyRelay})
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	p.Client = c
	t.Cleanup(p.close)
	return p
}

// selectedPair is the candidate pair pc's media goes over.
func selectedPair(t *testing.T, pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	t.Helper()
	if pc == nil {
		t.Fatal("no peer connection")
	}
	for _, tr := range pc.GetTransceivers() {
		var dt *webrtc.DTLSTransport
		if s := tr.Sender(); s != nil {
			dt = s.Transport()
		} else if r := tr.Receiver(); r != nil {
			dt = r.Transport()
		}
		if dt == nil {
			continue
		}
		if pair, err := dt.ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			return pair
		}
	}
	t.Fatalf("no selected candidate pair (%s)", pc.ICEConnectionState())
	return nil
}

// sfuTCP is a media configuration with ICE-TCP on a free port.
func sfuTCP() sfu.Config { return sfu.Config{ICETCP: true} }
