package cluster_test

import (
	"context"
	"testing"
	"time"

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
