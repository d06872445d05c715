package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// startCluster starts Redis and size in-process nodes.
func startCluster(t *testing.T, size int) (*testRedis, []*inNode) {
	t.Helper()
	rd := startRedis(t)
	nodes := make([]*inNode, size)
	for i := range nodes {
		nodes[i] = startNode(t, rd.URL, fmt.Sprintf("n%d", i+1))
	}
	waitMembers(t, rd, size)
	return rd, nodes
}

// waitMembers waits until Redis lists want live nodes.
func waitMembers(t *testing.T, rd *testRedis, want int) {
	t.Helper()
	c := rd.client()
	waitFor(t, 10*time.Second, func() (bool, string) {
		keys, err := c.Keys(t.Context(), "switchboard:node:*").Result()
		return err == nil && len(keys) == want, fmt.Sprintf("%d nodes registered (%v), want %d", len(keys), err, want)
	})
}

func asNodes(ns []*inNode) []node {
	out := make([]node, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// hostsOf maps each room to the nodes hosting it.
func hostsOf(nodes []*inNode) map[string][]string {
	out := map[string][]string{}
	for _, n := range nodes {
		for room := range n.hosts() {
			out[room] = append(out[room], n.name)
		}
	}
	return out
}

// TestClusterRooms: 30 rooms of 3 participants, each connected through a node at
// random: every participant receives every other's media, each room lives on one
// node, and the rooms spread over the three nodes.
func TestClusterRooms(t *testing.T) {
	checkGoroutines(t)
	_, nodes := startCluster(t, 3)
	byRoom := joinAll(t, asNodes(nodes), 30, 3)
	waitMedia(t, byRoom, 10, nil, 30*time.Second)

	perNode := map[string]int{}
	for room, hosts := range hostsOf(nodes) {
		if len(hosts) != 1 {
			t.Errorf("room %s is on %d nodes: %v", room, len(hosts), hosts)
		}
		perNode[hosts[0]]++
	}
	forwarded := 0
	for _, ps := range byRoom {
		for _, p := range ps {
			select {
			case <-p.Done():
				t.Errorf("%s lost its connection: %v", p.name, p.Err())
			default:
			}
			if p.via.(*inNode).hosts()[p.room] == 0 {
				forwarded++
			}
		}
	}
	t.Logf("rooms per node: %v; %d of 90 participants reached their room through another node; %d joins retried after 503",
		perNode, forwarded, retries.Load())
	for _, n := range nodes {
		if perNode[n.name] == 0 {
			t.Errorf("node %s holds no room: %v", n.name, perNode)
		}
	}
	if forwarded == 0 {
		t.Error("no participant was forwarded to its room's node")
	}

	// A session is routed by the room in its URL: it needs one, and joins no other.
	resp, err := http.Get(nodes[0].url + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "?room=") {
		t.Errorf("GET /ws without a room: %s %s, want 400 asking for ?room=", resp.Status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, nodes[1].wsURL()+"?room=room-00", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.Request(ctx, wire.TypeJoin, wire.Join{Room: "elsewhere", Name: "x"})
	if err != nil || reply.Error().Code != wire.CodeForbidden {
		t.Errorf("a join of another room than the URL's: %v %v, want the error forbidden", reply, err)
	}
}
