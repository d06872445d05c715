package roster

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps: the membership core is below both kinds of room: it imports no other
// package of this module (but internal/safe, which imports nothing of it), nothing
// of Pion and no HTTP.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "roster", Allowed: []string{"internal/safe"},
		Forbidden: []string{"github.com/pion/", "net/http"}})
}
