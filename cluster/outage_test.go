package cluster_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/wire"
)

var redisOutage = flag.Duration("redis-outage", 30*time.Second, "how long TestRedisOutage keeps Redis stopped")

// TestRedisOutage: while Redis is stopped, calls keep their media, a participant
// joins an existing room through its owner, and new rooms are made where clients
// ask (one of them on two nodes at once). When Redis returns the cluster view
// converges within 10 s: every node registered, every room leased to the node that
// hosts it, and the room made twice moved to one node, its participants rejoining
// there (as a client told room-closed does: join again through any node).
func TestRedisOutage(t *testing.T) {
	checkGoroutines(t)
	rd, nodes := startCluster(t, 3)
	byRoom := joinAll(t, asNodes(nodes), 6, 3)
	waitMedia(t, byRoom, 10, nil, 30*time.Second)

	rd.stop()
	stopped := time.Now()
	base := allCounts(byRoom)
	waitFor(t, 10*time.Second, func() (bool, string) {
		for _, n := range nodes {
			if n.srv.Cluster().RedisUp() {
				return false, n.name + " has not noticed Redis is gone"
			}
		}
		return true, ""
	})

	// A participant joins an existing room through the node that holds it.
	hosts := hostsOf(nodes)
	room := slices.Sorted(maps.Keys(byRoom))[0]
	owner := nodeNamed(nodes, hosts[room][0])
	late := mustJoin(t, owner, room, "late")
	byRoom[room] = append(byRoom[room], late)

	// A new room, and a room made on two nodes at once.
	fresh := []*participant{mustJoin(t, nodes[0], "fresh", "f1"), mustJoin(t, nodes[0], "fresh", "f2")}
	twiceA := mustJoin(t, nodes[1], "twice", "a")
	twiceB := mustJoin(t, nodes[2], "twice", "b")
	if hostsOf(nodes)["twice"] == nil || len(hostsOf(nodes)["twice"]) != 2 {
		t.Fatalf("room twice is on %v, want two nodes", hostsOf(nodes)["twice"])
	}
	waitMedia(t, map[string][]*participant{room: byRoom[room], "fresh": fresh}, 10, nil, 20*time.Second)

	time.Sleep(time.Until(stopped.Add(*redisOutage))) // the outage's length, not a wait for a condition
	waitMedia(t, byRoom, uint64(redisOutage.Seconds())*10, base, 10*time.Second)
	for _, ps := range byRoom {
		for _, p := range ps {
			select {
			case <-p.Done():
				t.Fatalf("%s lost its connection while Redis was away: %v", p.name, p.Err())
			default:
			}
		}
	}
	t.Logf("Redis away for %v: %d rooms kept their media", time.Since(stopped).Round(time.Second), len(byRoom))

	rd.start()
	back := time.Now()
	// The participant of the copy that lost is told and rejoins through any node.
	var moved, stayed *participant
	waitFor(t, 10*time.Second, func() (bool, string) {
		for _, p := range []*participant{twiceA, twiceB} {
			select {
			case <-p.Done():
				moved = p
			default:
				stayed = p
			}
		}
		return moved != nil, "neither copy of room twice was moved"
	})
	if codes := errorCodes(moved); !slices.Contains(codes, wire.CodeMoved) {
		t.Errorf("%s was told %v before its connection closed, want the code moved", moved.name, codes)
	}
	moved.leave()
	again := mustJoin(t, nodes[0], "twice", moved.name+"-again")
	t.Cleanup(twiceB.leave)
	waitMedia(t, map[string][]*participant{"twice": {stayed, again}}, 10, nil, 10*time.Second)

	c := rd.client()
	waitFor(t, time.Until(back.Add(10*time.Second)), func() (bool, string) {
		owners := roomOwners(t, rd)
		keys, err := c.Keys(context.Background(), "switchboard:node:*").Result()
		if err != nil || len(keys) != len(nodes) {
			return false, fmt.Sprintf("%d nodes registered (%v)", len(keys), err)
		}
		for room, hs := range hostsOf(nodes) {
			if len(hs) != 1 || owners[room] != hs[0] {
				return false, fmt.Sprintf("room %s is on %v, leased to %q", room, hs, owners[room])
			}
		}
		return true, ""
	})
	t.Logf("cluster view converged %v after Redis returned", time.Since(back).Round(time.Millisecond))
}

func nodeNamed(nodes []*inNode, name string) *inNode {
	for _, n := range nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// mustJoin joins room through n, leaving when the test ends.
func mustJoin(t *testing.T, n node, room, name string) *participant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := join(ctx, n, room, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.leave)
	return p
}

// errorCodes are the codes of the errors p was sent, from its events so far.
func errorCodes(p *participant) []string {
	var codes []string
	for {
		select {
		case e, ok := <-p.Events():
			if !ok {
				return codes
			}
			if c := e.Error().Code; c != "" {
				codes = append(codes, c)
			}
		default:
			return codes
		}
	}
}
