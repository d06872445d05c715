package cluster_test

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps guards the arrows: the cluster knows nothing of rooms, media or
// signaling (no other package of this module, no Pion); the server hands it what it
// needs as functions.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "cluster", Forbidden: []string{"github.com/pion/"}})
}
