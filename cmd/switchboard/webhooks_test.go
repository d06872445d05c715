package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestWebhookURLsFromEnvironmentAndRepeatedFlags(t *testing.T) {
	t.Setenv(webhookURLsEnv, "http://a.example/hook, http://b.example/hook")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f := serveFlags{logLevel: "info"}
	f.webhookFlags(fs)
	if err := fs.Parse([]string{"--webhook-url", "http://c.example/hook,http://d.example/hook",
		"--webhook-url", "http://e.example/hook", "--webhook-key", "k2"}); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := f.config(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://a.example/hook", "http://b.example/hook", "http://c.example/hook",
		"http://d.example/hook", "http://e.example/hook"}
	if !slices.Equal(cfg.Webhooks.URLs, want) || cfg.Webhooks.KeyID != "k2" {
		t.Errorf("webhooks %v key %q, want %v k2", cfg.Webhooks.URLs, cfg.Webhooks.KeyID, want)
	}
}
