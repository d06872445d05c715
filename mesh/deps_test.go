package mesh

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps: mesh rooms carry no media and speak no protocol: they import no other
// package of this module but the membership core they build on (roster) and
// internal/safe, which import nothing else of it; never the SFU core, nothing of Pion
// and no HTTP.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "mesh", Allowed: []string{"roster", "internal/safe"}, Required: []string{"roster"},
		Forbidden: []string{"github.com/pion/", "net/http"}})
}
