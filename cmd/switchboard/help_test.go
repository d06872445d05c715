package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelp: --help and the help command list every command with a line of its own,
// then serve's flags.
func TestHelp(t *testing.T) {
	var flagOut, cmdOut bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, io.Discard, &flagOut); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v, want flag.ErrHelp (exit status 0)", err)
	}
	if err := run(t.Context(), []string{"help"}, &cmdOut, io.Discard); err != nil {
		t.Errorf("help: %v", err)
	}
	for name, out := range map[string]string{"--help": flagOut.String(), "help": cmdOut.String()} {
		commands, flags, ok := strings.Cut(out, "Flags of serve")
		if !ok {
			t.Errorf("%s: no flags of serve after the commands:\n%s", name, out)
			continue
		}
		for _, cmd := range []string{"serve", "token", "bench", "version", "help"} {
			if !regexp.MustCompile(`(?m)^  ` + cmd + ` +\S`).MatchString(commands) {
				t.Errorf("%s: no line for the %s command in:\n%s", name, cmd, commands)
			}
		}
		for _, f := range []string{"-addr", "-tls-cert", "-tls-domain", "-tls-self-signed", "-http-redirect-addr", "-udp-port"} {
			if !regexp.MustCompile(`(?m)^  ` + f + `( |$)`).MatchString(flags) {
				t.Errorf("%s: flag %s not listed", name, f)
			}
		}
	}
}

// TestVersion: the version command prints the version, the VCS revision and time Go
// stamped, the Go version and the platform; a version set at link time wins.
func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"switchboard ", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version printed %q, without %q", out.String(), want)
		}
	}

	info := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	for override, want := range map[string]string{"": "switchboard v1.2.3\n", "v9.9.9": "switchboard v9.9.9\n"} {
		out.Reset()
		writeVersion(&out, info, override)
		for _, w := range []string{want, "0123abcd (modified)", "2026-01-02T03:04:05Z", "go1.99"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("with link-time version %q: printed %q, without %q", override, out.String(), w)
			}
		}
	}
}
