package sfu

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps guards the direction of the package arrows: the media core imports no
// other package of this module (signaling, transports, server, mesh rooms) and no
// HTTP, but the membership core it builds on (roster), internal/safe (panic
// recovery) and its own parts below it (sfu/speaker, sfu/layer, sfu/alloc, sfu/bwe),
// which import nothing else of the module.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "sfu", Allowed: []string{"roster", "internal/safe", "sfu/speaker", "sfu/layer", "sfu/alloc", "sfu/bwe"}, Required: []string{"roster"},
		Forbidden: []string{"net/http"}})
}
