package sfu

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps guards the direction of the package arrows: the media core imports no
// other package of this module (signaling, transports, server, mesh rooms) and no
// HTTP, but the membership core it builds on (roster), internal/safe (panic
// recovery), internal/vp8 (VP8 payload reading, shared with the client and bench)
// and its own parts below it (sfu/...), which import nothing else of the module.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "sfu", Allowed: []string{"roster", "internal/safe", "internal/vp8", "sfu/"}, Required: []string{"roster"},
		Forbidden: []string{"net/http"}})
}
