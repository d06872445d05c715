package sfu

import (
	"strings"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// offeredPorts are the ports of the host candidates in an offer of a connection of
// engine, once gathering is complete.
func offeredPorts(t *testing.T, e *Engine) []uint16 {
	t.Helper()
	var ports []uint16
	for _, c := range offeredHostCandidates(t, e) {
		ports = append(ports, uint16(c.Port()))
	}
	return ports
}

// offeredHostCandidates are the host candidates in an offer of a connection of
// engine, once gathering is complete.
func offeredHostCandidates(t *testing.T, e *Engine) []ice.Candidate {
	t.Helper()
	pc, err := e.newSubscriberConnection()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	var hosts []ice.Candidate
	for _, line := range strings.Split(pc.LocalDescription().SDP, "\n") {
		cand, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:")
		if !ok {
			continue
		}
		c, err := ice.UnmarshalCandidate(cand)
		if err != nil {
			t.Fatal(err)
		}
		if c.Type() == ice.CandidateTypeHost {
			hosts = append(hosts, c)
		}
	}
	if len(hosts) == 0 {
		t.Fatal("no host candidate offered")
	}
	return hosts
}

// TestPublicIPsAnnounced checks that with PublicIPs every IPv4 host candidate offers
// the public address instead of the machine's own, with the shared port and with a port
// per connection.
func TestPublicIPsAnnounced(t *testing.T) {
	for name, perConn := range map[string]bool{"shared": false, "per-connection": true} {
		t.Run(name, func(t *testing.T) {
			e, err := NewEngine(Config{ICELoopback: true, PortPerConnection: perConn, PublicIPs: []string{"203.0.113.7"},
				Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = e.Close() }()
			v4 := 0
			for _, c := range offeredHostCandidates(t, e) {
				if strings.Contains(c.Address(), ":") {
					continue // an IPv6 address: the public one is IPv4
				}
				v4++
				if c.Address() != "203.0.113.7" {
					t.Errorf("host candidate %s, want the public address 203.0.113.7", c.Marshal())
				}
			}
			if v4 == 0 {
				t.Error("no IPv4 host candidate offered")
			}
		})
	}
}

// TestConnectionsShareOnePort checks that by default every connection offers the
// engine's one UDP port, and that with a port per connection none does.
func TestConnectionsShareOnePort(t *testing.T) {
	t.Run("shared", func(t *testing.T) {
		e, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = e.Close() }()
		port := e.UDPPort()
		if port == 0 {
			t.Fatal("no shared UDP port")
		}
		for range 2 {
			for _, p := range offeredPorts(t, e) {
				if int(p) != port {
					t.Fatalf("candidate on port %d, want the shared port %d", p, port)
				}
			}
		}
	})
	t.Run("per-connection", func(t *testing.T) {
		e, err := NewEngine(Config{ICELoopback: true, PortPerConnection: true, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = e.Close() }()
		if e.UDPPort() != 0 {
			t.Fatalf("shared port %d with a port per connection", e.UDPPort())
		}
		first, second := offeredPorts(t, e), offeredPorts(t, e)
		for _, p := range first {
			for _, q := range second {
				if p == q {
					t.Fatalf("two connections offer port %d", p)
				}
			}
		}
	})
	t.Run("conflicting", func(t *testing.T) {
		if _, err := NewEngine(Config{UDPPort: 40000, UDPPortMin: 50000, UDPPortMax: 50100}); err == nil {
			t.Fatal("a shared port with a per-connection range was accepted")
		}
	})
}

// TestSharedPortInUse checks that a shared port another socket holds is a clear
// error at start.
func TestSharedPortInUse(t *testing.T) {
	e, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	_, err = NewEngine(Config{ICELoopback: true, UDPPort: uint16(e.UDPPort()), Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "media port") {
		t.Fatalf("second engine on port %d: err = %v, want a media port error", e.UDPPort(), err)
	}
}
