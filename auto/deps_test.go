package auto

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps: auto rooms sit above the two kinds of room and below signaling: they
// import the membership core and both room kinds (with the media core's parts below
// sfu/), and no signaling, transport,
// server or HTTP.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "auto", Allowed: []string{"roster", "sfu", "sfu/", "mesh", "internal/safe", "internal/vp8"},
		Required: []string{"roster", "sfu", "mesh"}, Forbidden: []string{"net/http"}})
}
