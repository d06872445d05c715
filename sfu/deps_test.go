package sfu

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps guards the direction of the package arrows: the media core imports no
// other package of this module (signaling, transports, server) and no HTTP. The one
// exception is internal/safe (panic recovery), which imports nothing but the
// standard library.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/switchboard-rtc/switchboard/"
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, module) && dep != module+"sfu" && dep != module+"internal/safe":
			t.Errorf("sfu imports %s", dep)
		case dep == "net/http":
			t.Errorf("sfu imports %s", dep)
		}
	}
}
