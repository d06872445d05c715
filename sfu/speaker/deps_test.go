package speaker

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/deptest"
)

// TestDeps: the speaker detector is pure logic; it imports no other package of the
// module, no Pion and no HTTP.
func TestDeps(t *testing.T) {
	deptest.Check(t, deptest.Rule{Self: "sfu/speaker", Forbidden: []string{"github.com/pion/", "net/http"}})
}
