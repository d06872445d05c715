// Package deptest guards the direction of the package arrows, in the TestDeps of
// each package that has a rule about what it may import.
package deptest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Module is the import path prefix of this module's packages.
const Module = "github.com/switchboard-rtc/switchboard/"

// Rule says what the package in the test's directory may import, directly or not.
// Paths of the module's packages are given within the module ("internal/safe").
type Rule struct {
	// Self is the package's own path.
	Self string
	// Allowed are the only other packages of the module it may import: an entry
	// ending in "/" allows every package below that path ("sfu/": sfu's parts).
	Allowed []string
	// Required are packages of the module it must import: what it builds on.
	Required []string
	// Forbidden are other imports it must not have: an entry ending in "/" is a
	// prefix ("github.com/pion/"), any other a whole path ("net/http").
	Forbidden []string
}

// Check lists the dependencies of the package in the current directory (go list
// -deps) and reports on t every one that r refuses, and every required one missing.
func Check(t testing.TB, r Rule) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, need := range r.Required {
		if !slices.Contains(deps, Module+need) {
			t.Errorf("%s does not import %s, which it builds on", r.Self, need)
		}
	}
	for _, dep := range deps {
		if r.refuses(dep) {
			t.Errorf("%s imports %s", r.Self, dep)
		}
	}
}

func (r Rule) refuses(dep string) bool {
	if own, ok := strings.CutPrefix(dep, Module); ok {
		return own != r.Self && !slices.ContainsFunc(r.Allowed, func(a string) bool {
			return own == a || strings.HasSuffix(a, "/") && strings.HasPrefix(own, a)
		})
	}
	return slices.ContainsFunc(r.Forbidden, func(f string) bool {
		return dep == f || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)
	})
}
