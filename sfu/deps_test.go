package sfu

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDeps guards the direction of the package arrows: the media core imports no
// other package of this module (signaling, transports, server, mesh rooms) and no
// HTTP, but the membership core below it (roster) and internal/safe (panic
// recovery), which import nothing else of the module. It does import the roster.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/switchboard-rtc/switchboard/"
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, module+"roster") {
		t.Error("sfu does not build on the membership core (roster)")
	}
	for _, dep := range deps {
		switch {
		case strings.HasPrefix(dep, module) && dep != module+"sfu" && dep != module+"roster" && dep != module+"internal/safe":
			t.Errorf("sfu imports %s", dep)
		case dep == "net/http":
			t.Errorf("sfu imports %s", dep)
		}
	}
}
