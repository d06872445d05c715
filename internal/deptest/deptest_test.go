package deptest

import "testing"

func TestRuleRefuses(t *testing.T) {
	r := Rule{Self: "sfu", Allowed: []string{"roster", "sfu/"}, Forbidden: []string{"github.com/pion/", "net/http"}}
	for dep, want := range map[string]bool{
		Module + "sfu": false, Module + "roster": false, Module + "signal": true,
		Module + "sfu/speaker": false, Module + "sfuws": true,
		"github.com/pion/webrtc/v4": true, "net/http": true, "net/http/httptrace": false, "fmt": false,
	} {
		if got := r.refuses(dep); got != want {
			t.Errorf("refuses(%s) = %v, want %v", dep, got, want)
		}
	}
}

// TestDeps: every package of the module may use deptest in its tests, so it
// imports nothing of the module itself.
func TestDeps(t *testing.T) { Check(t, Rule{Self: "internal/deptest"}) }
