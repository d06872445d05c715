package server_test

import (
	"testing"

	"github.com/pion/webrtc/v4"

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
