package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release, set when building with -ldflags "-X main.version=v1.2.3"
// (the Dockerfile does); empty means the module version Go recorded, which is
// "(devel)" for a build from a checkout.
var version string

// versionCmd prints what was built.
func versionCmd(stdout io.Writer) error {
	info, _ := debug.ReadBuildInfo()
	writeVersion(stdout, info, version)
	return nil
}

// writeVersion prints the version (override, else the main module's), the VCS
// revision and commit time Go stamped (with "modified" for uncommitted changes),
// the Go version and the OS/architecture. info may be nil.
func writeVersion(w io.Writer, info *debug.BuildInfo, override string) {
	v, goVersion := override, runtime.Version()
	settings := map[string]string{}
	if info != nil {
		if v == "" {
			v = info.Main.Version
		}
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	fmt.Fprintf(w, "switchboard %s\n", orUnknown(v))
	rev := orUnknown(settings["vcs.revision"])
	if settings["vcs.modified"] == "true" {
		rev += " (modified)"
	}
	fmt.Fprintf(w, "  revision:    %s\n", rev)
	fmt.Fprintf(w, "  commit time: %s\n", orUnknown(settings["vcs.time"]))
	fmt.Fprintf(w, "  go:          %s\n", goVersion)
	fmt.Fprintf(w, "  platform:    %s/%s\n", runtime.GOOS, runtime.GOARCH)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
