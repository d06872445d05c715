package client

import (
	"fmt"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestPendingCandidatesAreBounded: candidates that arrive before the remote
// description are kept only up to maxPendingCandidates; the rest are dropped.
func TestPendingCandidatesAreBounded(t *testing.T) {
	var p pendingCandidates
	for port := range 10 * maxPendingCandidates {
		p.add(nil, webrtc.ICECandidateInit{Candidate: fmt.Sprintf("candidate:1 1 udp 2130706431 127.0.0.1 %d typ host", port)})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.pending); n != maxPendingCandidates {
		t.Fatalf("%d candidates kept before the description, want %d", n, maxPendingCandidates)
	}
	if p.dropped != 9*maxPendingCandidates {
		t.Fatalf("%d dropped, want %d", p.dropped, 9*maxPendingCandidates)
	}
}
