package mesh

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDeps: mesh rooms carry no media and speak no protocol: they import no other
// package of this module but the membership core they build on (roster) and
// internal/safe, which import nothing else of it; never the SFU core, nothing of Pion
// and no HTTP.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/switchboard-rtc/switchboard/"
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, module+"roster") {
		t.Error("mesh does not build on the membership core (roster)")
	}
	for _, dep := range deps {
		switch {
		case strings.HasPrefix(dep, module) && dep != module+"mesh" && dep != module+"roster" && dep != module+"internal/safe",
			strings.HasPrefix(dep, "github.com/pion/"), dep == "net/http":
			t.Errorf("mesh imports %s", dep)
		}
	}
}
