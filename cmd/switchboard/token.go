package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/switchboard-rtc/switchboard/auth"
)

// tokenCmd mints a join token: switchboard token --room R --identity I [flags].
func tokenCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var key, secret, room, identity, name, grants, sources, mode string
	var ttl time.Duration
	fs.StringVar(&key, "api-key", "", "API `key` to sign with (the server's --api-key)")
	fs.StringVar(&secret, "api-secret", "", "the API key's `secret`")
	fs.StringVar(&room, "room", "", "the `room` the token joins (\"*\": any room; may be empty for an admin token)")
	fs.StringVar(&identity, "identity", "", "who joins: a second connection with the same `identity` replaces the first")
	fs.StringVar(&name, "name", "", "display `name` (default: the one the client gives)")
	fs.StringVar(&grants, "grants", "join,publish,subscribe", "comma-separated `grants`: join, publish, subscribe, admin")
	fs.StringVar(&sources, "sources", "", "comma-separated `sources` publish allows: camera, microphone, screen (default: all)")
	fs.StringVar(&mode, "mode", "", "\"mesh\" lets the holder create mesh and auto rooms, \"auto\" auto rooms only (default: it may only join those that exist or are configured)")
	fs.DurationVar(&ttl, "ttl", 6*time.Hour, "how long the token is valid")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if key == "" || secret == "" {
		return errors.New("token: --api-key and --api-secret (or SWITCHBOARD_API_KEY and SWITCHBOARD_API_SECRET) are required")
	}
	g, err := parseGrants(grants, sources)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	switch {
	case ttl <= 0:
		return errors.New("token: --ttl must be positive")
	case g.Join && room == "":
		return errors.New("token: --room is required for a token that joins")
	case g.Join && identity == "":
		return errors.New("token: --identity is required for a token that joins")
	case mode != "" && mode != auth.ModeMesh && mode != auth.ModeAuto:
		return fmt.Errorf("token: --mode: %q is not \"mesh\" or \"auto\"", mode)
	}
	claims := auth.NewClaims(room, identity, name, g, ttl)
	claims.Mode = mode
	tok, err := auth.Mint(key, secret, claims)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// parseGrants reads the --grants and --sources lists.
func parseGrants(grants, sources string) (auth.Grants, error) {
	var g auth.Grants
	for _, name := range splitList(grants) {
		switch name {
		case "join":
			g.Join = true
		case "publish":
			g.Publish = true
		case "subscribe":
			g.Subscribe = true
		case "admin":
			g.Admin = true
		default:
			return g, fmt.Errorf("--grants: unknown grant %q (join, publish, subscribe, admin)", name)
		}
	}
	known := []string{auth.SourceCamera, auth.SourceMicrophone, auth.SourceScreen}
	for _, s := range splitList(sources) {
		if !slices.Contains(known, s) {
			return g, fmt.Errorf("--sources: unknown source %q (camera, microphone, screen)", s)
		}
		g.PublishSources = append(g.PublishSources, s)
	}
	if len(g.PublishSources) > 0 && !g.Publish {
		return g, errors.New("--sources needs the publish grant")
	}
	return g, nil
}
