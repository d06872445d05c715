package server_test

import (
	"fmt"
	"testing"
	"time"
)

// TestSFURoom runs a room through its life: three participants publish and receive
// each other, a fourth joins late and gets everything (with a fresh keyframe), one
// leaves and the others stop receiving it.
func TestSFURoom(t *testing.T) {
	ts := startServer(t)
	const room = "standup"
	peers := []*peer{joinPeer(t, ts, room, "alice"), joinPeer(t, ts, room, "bob"), joinPeer(t, ts, room, "carol")}
	for _, p := range peers {
		p.publishAV()
	}
	for i, p := range peers {
		p.receivesFrom(t, 20, others(peers, i)...)
	}

	before := make([]int64, len(peers))
	for i, p := range peers {
		before[i] = p.keyframeRequests.Load()
	}
	dave := joinPeer(t, ts, room, "dave")
	dave.receivesFrom(t, 20, peers...)
	for i, p := range peers {
		waitFor(t, 5*time.Second, func() (bool, string) {
			n := p.keyframeRequests.Load()
			return n > before[i], fmt.Sprintf("%s got %d keyframe requests, %d before dave joined", p.name, n, before[i])
		})
	}

	alice := peers[0]
	aliceID := alice.Self.ID
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
		stalled := p.packetsFrom(aliceID, "video")
		time.Sleep(300 * time.Millisecond)
		if now := p.packetsFrom(aliceID, "video"); now != stalled {
			t.Errorf("%s still receives alice's video after she left (%d -> %d packets)", p.name, stalled, now)
		}
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
