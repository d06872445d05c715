package sfu

import (
	"strings"
	"testing"

	"github.com/pion/ice/v4"
)

// TestICETCPCandidates: with ICETCP, every connection offers passive TCP host
// candidates on the engine's one ICE-TCP port, with the public address in place of
// the machine's own, beside its UDP ones; without it, none.
func TestICETCPCandidates(t *testing.T) {
	e, err := NewEngine(Config{ICELoopback: true, ICETCP: true, PublicIPs: []string{"203.0.113.7"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	if e.ICETCPPort() == 0 {
		t.Fatal("no ICE-TCP port")
	}
	for range 2 {
		var tcp, udp int
		for _, c := range offeredHostCandidates(t, e) {
			if strings.Contains(c.Address(), ":") {
				continue // IPv6: the public address is IPv4
			}
			switch c.NetworkType().IsTCP() {
			case true:
				tcp++
				if c.TCPType() != ice.TCPTypePassive || c.Port() != e.ICETCPPort() || c.Address() != "203.0.113.7" {
					t.Errorf("TCP candidate %s, want passive on 203.0.113.7:%d", c.Marshal(), e.ICETCPPort())
				}
			default:
				udp++
			}
		}
		if tcp == 0 || udp == 0 {
			t.Errorf("%d TCP and %d UDP IPv4 candidates offered", tcp, udp)
		}
	}
	off, err := NewEngine(Config{ICELoopback: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = off.Close() }()
	for _, c := range offeredHostCandidates(t, off) {
		if c.NetworkType().IsTCP() {
			t.Errorf("TCP candidate %s without ICETCP", c.Marshal())
		}
	}
	if off.ICETCPPort() != 0 {
		t.Errorf("ICE-TCP port %d without ICETCP", off.ICETCPPort())
	}
}
