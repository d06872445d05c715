package sfu

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps guards the direction of the package arrows: the media core imports no
// other package of this module (signaling, transports, server) and no HTTP.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/switchboard-rtc/switchboard/"
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, module) && dep != module+"sfu":
			t.Errorf("sfu imports %s", dep)
		case dep == "net/http":
			t.Errorf("sfu imports %s", dep)
		}
	}
}
