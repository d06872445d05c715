package wire

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/switchboard-rtc/switchboard/"

// deps lists what pkg imports, directly or not.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestDeps guards the arrows around the protocol's definition: wire imports nothing
// of this module and nothing of Pion (plain types both sides share), and the Go
// client imports neither the server's signaling nor the server: it speaks the
// protocol through wire alone.
func TestDeps(t *testing.T) {
	for _, dep := range deps(t, ".") {
		if (strings.HasPrefix(dep, module) && dep != module+"wire") || strings.HasPrefix(dep, "github.com/pion/") {
			t.Errorf("wire imports %s", dep)
		}
	}
	for _, dep := range deps(t, "../client") {
		if strings.HasPrefix(dep, module+"signal") || strings.HasPrefix(dep, module+"server") {
			t.Errorf("client imports %s", dep)
		}
	}
}
