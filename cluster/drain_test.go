package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestDrainingNodeTakesNoRooms: a node that drains keeps its calls but is no
// longer chosen for new rooms, and says so in its registration.
func TestDrainingNodeTakesNoRooms(t *testing.T) {
	checkGoroutines(t)
	_, nodes := startCluster(t, 2)
	kept := mustJoin(t, nodes[0], "kept", "k") // a call on the node that will drain
	drainer, other := nodes[0], nodes[1]
	if drainer.hosts()["kept"] == 0 {
		drainer, other = other, drainer
	}
	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan error, 1)
	go func() { drained <- drainer.srv.Drain(ctx) }()
	t.Cleanup(func() { cancel(); <-drained })
	waitFor(t, 10*time.Second, func() (bool, string) {
		for _, m := range other.srv.Cluster().Known() {
			if string(m.ID) == drainer.name {
				return m.Draining, fmt.Sprintf("%s's registration does not say it drains", m.ID)
			}
		}
		return false, drainer.name + " is not registered"
	})
	for i := range 6 {
		room := fmt.Sprintf("new-%d", i)
		mustJoin(t, other, room, "p")
		if drainer.hosts()[room] != 0 {
			t.Errorf("room %s was placed on the draining node", room)
		}
	}
	select {
	case <-kept.Done():
		t.Fatalf("the call on the draining node ended: %v", kept.Err())
	default:
	}
}
