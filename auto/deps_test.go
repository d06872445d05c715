package auto

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps: auto rooms sit above the two kinds of room and below signaling: they
// import the membership core and both room kinds, and no signaling, transport,
// server or HTTP.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "auto", Allowed: []string{"roster", "sfu", "mesh", "internal/safe"},
		Required: []string{"roster", "sfu", "mesh"}, Forbidden: []string{"net/http"}})
}
