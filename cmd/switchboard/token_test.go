package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/switchboard-rtc/switchboard/auth"
)

const (
	testKey    = "cli-key"
	testSecret = "cli-secret-0123456789-0123456789-abc"
)

func TestTokenCommand(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"token", "--api-key", testKey, "--api-secret", testSecret,
		"--room", "standup", "--identity", "ada", "--name", "Ada", "--grants", "join,publish",
		"--sources", "microphone,screen", "--mode", "mesh", "--ttl", "10m"}, &out, &errs)
	if err != nil {
		t.Fatalf("token: %v (%s)", err, errs.String())
	}
	v, err := auth.NewVerifier(map[string]string{testKey: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("minted token refused: %v", err)
	}
	g := c.Grants
	if c.Room != "standup" || c.Identity() != "ada" || c.Name != "Ada" || !g.Join || !g.Publish || g.Subscribe || g.Admin ||
		strings.Join(g.PublishSources, ",") != "microphone,screen" || c.Mode != "mesh" {
		t.Errorf("claims = %+v", c)
	}
	if d := c.ExpiresAt.Sub(c.IssuedAt.Time); d.Minutes() != 10 {
		t.Errorf("ttl = %v", d)
	}
}

func TestTokenCommandRefusals(t *testing.T) {
	for _, args := range [][]string{
		{"--room", "r", "--identity", "i"},                                    // no key
		{"--api-key", testKey, "--api-secret", testSecret, "--identity", "i"}, // no room
		{"--api-key", testKey, "--api-secret", testSecret, "--room", "r"},     // no identity
		{"--api-key", testKey, "--api-secret", testSecret, "--room", "r", "--identity", "i", "--grants", "join,fly"},
		{"--api-key", testKey, "--api-secret", testSecret, "--room", "r", "--identity", "i", "--sources", "radio"},
		{"--api-key", testKey, "--api-secret", testSecret, "--room", "r", "--identity", "i", "--grants", "join", "--sources", "camera"},
		{"--api-key", testKey, "--api-secret", testSecret, "--room", "r", "--identity", "i", "--ttl", "-1m"},
		{"--api-key", testKey, "--api-secret", testSecret, "--room", "r", "--identity", "i", "--mode", "sfu"},
	} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), append([]string{"token"}, args...), &out, &errs); err == nil {
			t.Errorf("token %v: accepted, printed %q", args, out.String())
		}
	}
	// An admin token needs neither room nor identity.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "--api-key", testKey, "--api-secret", testSecret, "--grants", "admin"},
		&out, &bytes.Buffer{}); err != nil {
		t.Errorf("admin token: %v", err)
	}
}

func TestWarnIfOpen(t *testing.T) {
	for _, tc := range []struct {
		ip    string
		keyed bool
		warn  bool
	}{
		{"127.0.0.1", false, false},
		{"::1", false, false},
		{"0.0.0.0", false, true},
		{"192.0.2.7", false, true},
		{"0.0.0.0", true, false},
	} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		warnIfOpen(log, &net.TCPAddr{IP: net.ParseIP(tc.ip), Port: 8080}, tc.keyed)
		if got := strings.Contains(buf.String(), "NO AUTHENTICATION"); got != tc.warn {
			t.Errorf("%s keyed=%v: warned %v, want %v", tc.ip, tc.keyed, got, tc.warn)
		}
	}
}

func TestServeAPIKeyFlags(t *testing.T) {
	f := serveFlags{logLevel: "info", apiKey: testKey}
	if _, _, err := f.config(&bytes.Buffer{}); err == nil {
		t.Error("--api-key without --api-secret accepted")
	}
	f.apiSecret = testSecret
	cfg, _, err := f.config(&bytes.Buffer{})
	if err != nil || cfg.APIKeys[testKey] != testSecret {
		t.Errorf("config = %v, %v", cfg.APIKeys, err)
	}
}
