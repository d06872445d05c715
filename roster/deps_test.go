package roster

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: the membership core is below both kinds of room: it imports no other
// package of this module (but internal/safe, which imports nothing of it), nothing
// of Pion and no HTTP.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/switchboard-rtc/switchboard/"
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, module) && dep != module+"roster" && dep != module+"internal/safe",
			strings.HasPrefix(dep, "github.com/pion/"), dep == "net/http":
			t.Errorf("roster imports %s", dep)
		}
	}
}
