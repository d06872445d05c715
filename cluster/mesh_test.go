package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestMeshRoomAcrossNodes: a mesh room's peers connected through different nodes
// are in one room (on one node) and relay to each other.
func TestMeshRoomAcrossNodes(t *testing.T) {
	checkGoroutines(t)
	_, nodes := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var peers []*client.Client
	for i, n := range nodes {
		c, err := client.Join(ctx, n.wsURL(), "p2p", []string{"ann", "ben"}[i], client.Options{Mode: "mesh"})
		if err != nil {
			t.Fatalf("join through %s: %v", n.name, err)
		}
		defer c.Close()
		peers = append(peers, c)
	}
	if len(peers[1].Present) != 1 || peers[1].Present[0].ID != peers[0].Self.ID {
		t.Fatalf("ben (through %s) sees %+v in the room, want ann (through %s)", nodes[1].name, peers[1].Present, nodes[0].name)
	}
	if err := peers[1].Relay(ctx, peers[0].Self.ID, map[string]string{"hello": "ann"}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-peers[0].Events():
			if e.Type == wire.TypeRelay && e.Relayed().From == peers[1].Self.ID {
				return
			}
		case <-ctx.Done():
			t.Fatal("ann received no relay from ben")
		}
	}
}

// TestSFUWSAcrossNodes: clients of Pion's sfu-ws example connected through
// different nodes land in one room, on one node.
func TestSFUWSAcrossNodes(t *testing.T) {
	checkGoroutines(t)
	_, nodes := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, n := range nodes {
		url := "ws" + strings.TrimPrefix(n.url, "http") + "/compat/sfu-ws?room=legacy"
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatalf("sfu-ws through %s: %v", n.name, err)
		}
		defer ws.CloseNow()
		// Read what the room sends (offers, candidates) so that the connection lives.
		go func() {
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
			}
		}()
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		hosts := hostsOf(nodes)["legacy"]
		in := nodes[0].hosts()["legacy"] + nodes[1].hosts()["legacy"]
		return len(hosts) == 1 && in == 2, fmt.Sprintf("room legacy on %v with %d participants, want one node with 2", hosts, in)
	})
}

// TestAutoRoomAcrossNodes: an auto room's participants, connected through different
// nodes, meet in one room on one node: peer to peer at first, then promoted to SFU
// for everyone when the fourth joins (the default --mesh-promote-at), switching over
// the same forwarded connections.
func TestAutoRoomAcrossNodes(t *testing.T) {
	checkGoroutines(t)
	_, nodes := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var peers []*client.Client
	for i, name := range []string{"ann", "ben", "cal", "dot"} {
		n := nodes[i%len(nodes)]
		c, err := client.Join(ctx, n.wsURL(), "grows", name, client.Options{Mode: "auto"})
		if err != nil {
			t.Fatalf("%s: join through %s: %v", name, n.name, err)
		}
		defer c.Close()
		peers = append(peers, c)
		if i == 1 {
			if mode, _ := c.AutoMode(); mode != "mesh" || len(c.Present) != 1 || c.Present[0].ID != peers[0].Self.ID {
				t.Fatalf("ben (through %s) is in mode %q with %+v, want mesh with ann (through %s)", n.name, mode, c.Present, nodes[0].name)
			}
		}
	}
	for i, c := range peers {
		waitFor(t, 20*time.Second, func() (bool, string) {
			mode, switching := c.AutoMode()
			return mode == "sfu" && !switching, fmt.Sprintf("participant %d is in mode %q (switching %v), want sfu", i, mode, switching)
		})
	}
}
