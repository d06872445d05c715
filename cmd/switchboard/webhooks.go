package main

import (
	"flag"
	"os"
	"strings"

	"github.com/switchboard-rtc/switchboard/server"
)

// webhookURLsEnv lists webhook URLs, comma-separated, besides the --webhook-url
// flags (each flag's own variable, SWITCHBOARD_WEBHOOK_URL, works too).
const webhookURLsEnv = "SWITCHBOARD_WEBHOOK_URLS"

// urlList is a flag that may be repeated, each value a comma-separated list.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

// webhookFlags declares the webhook flags.
func (f *serveFlags) webhookFlags(fs *flag.FlagSet) {
	f.webhookURLs = urlList(splitList(os.Getenv(webhookURLsEnv)))
	fs.Var(&f.webhookURLs, "webhook-url",
		"`URL` to POST room events to (repeatable, or comma-separated; also $"+webhookURLsEnv+"), signed with the API secret")
	fs.StringVar(&f.webhookKey, "webhook-key", "", "API `key` whose secret signs webhooks (default: the only one)")
}

// webhookConfig sets cfg's webhooks from the flags; server.New checks them.
func (f *serveFlags) webhookConfig(cfg *server.Config) {
	cfg.Webhooks.URLs = f.webhookURLs
	cfg.Webhooks.KeyID = f.webhookKey
}
