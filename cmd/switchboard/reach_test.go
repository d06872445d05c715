package main

import (
	"crypto/tls"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/switchboard-rtc/switchboard/internal/tlsutil"
	"github.com/switchboard-rtc/switchboard/server"
)

// TestReachFlags: the flags of ICE-TCP, TURN and ICE servers turn into the
// configuration they name, and contradictory ones are refused with a clear error.
func TestReachFlags(t *testing.T) {
	parse := func(args ...string) (server.Config, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var f reachFlags
		f.declare(fs)
		if err := fs.Parse(args); err != nil {
			return server.Config{}, err
		}
		var cfg server.Config
		return cfg, f.apply(&cfg)
	}
	cfg, err := parse()
	if err != nil || !cfg.Media.ICETCP || cfg.Media.ICETCPPort != server.DefaultICETCPPort || cfg.TURN != nil {
		t.Errorf("defaults: %v, ICE-TCP %v on %d, TURN %v", err, cfg.Media.ICETCP, cfg.Media.ICETCPPort, cfg.TURN)
	}
	if cfg, _ := parse("--ice-tcp=false"); cfg.Media.ICETCP {
		t.Error("--ice-tcp=false leaves ICE-TCP on")
	}
	cfg, err = parse("--ice-servers", "stun:s.example:3478,turn:t.example:3478?transport=udp", "--ice-shared-secret", "s3cret")
	if err != nil || cfg.ClientICESecret != "s3cret" || len(cfg.ClientICEServers) != 2 || len(cfg.Media.ICEServers) != 1 ||
		cfg.Media.ICEServers[0].URLs[0] != "stun:s.example:3478" {
		t.Errorf("a shared secret: %v, clients %+v, server %+v", err, cfg.ClientICEServers, cfg.Media.ICEServers)
	}
	cfg, err = parse("--ice-servers", "turn:t.example:3478", "--ice-username", "u", "--ice-credential", "p")
	if err != nil || len(cfg.Media.ICEServers) != 1 || cfg.ClientICEServers[0].Username != "u" || cfg.ClientICEServers[0].Credential != "p" {
		t.Errorf("static credentials: %v, %+v", err, cfg.ClientICEServers)
	}
	cfg, err = parse("--turn", "--turn-port", "0", "--turn-secret", "0123456789abcdef", "--turn-relay-ip", "192.0.2.1", "--turn-ttl", "1h")
	if err != nil || cfg.TURN == nil || cfg.TURN.Port != 0 || cfg.TURN.RelayIP.String() != "192.0.2.1" || cfg.TURN.CredentialTTL.Hours() != 1 {
		t.Errorf("--turn: %v, %+v", err, cfg.TURN)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ice-username", "u"}, "go together"},
		{[]string{"--ice-shared-secret", "s"}, "without --ice-servers"},
		{[]string{"--ice-servers", "turn:t", "--ice-username", "u", "--ice-credential", "p", "--ice-shared-secret", "s"}, "pick one"},
		{[]string{"--ice-servers", "http://t"}, "neither"},
		{[]string{"--turn-secret", "0123456789abcdef"}, "add --turn"},
		{[]string{"--turn", "--turn-secret", "short"}, "16 bytes"},
		{[]string{"--turn", "--turn-tls-cert", "c.pem"}, "go together"},
		{[]string{"--turn", "--turn-tls-cert", "/nonexistent.pem", "--turn-tls-key", "/nonexistent.key"}, "--turn-tls-cert"},
		{[]string{"--turn", "--turn-relay-ip", "host"}, "--turn-relay-ip"},
		{[]string{"--ice-tcp-port", "70000"}, "not a port"},
	} {
		if _, err := parse(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

// TestTURNSharesTheHTTPSCertificate: with HTTPS on and no certificate of its own,
// the built-in TURN server serves TLS with the web's certificate, under its name.
func TestTURNSharesTheHTTPSCertificate(t *testing.T) {
	web := &tlsutil.Setup{TLS: &tls.Config{NextProtos: []string{"h2", "http/1.1", "acme-tls/1"}}, Host: "meet.example.org"}
	var f reachFlags
	f.turnTLSPort = 5349
	cfg := server.Config{TURN: &server.TURNConfig{}}
	f.shareTLS(&cfg, web)
	if cfg.TURN.TLS == nil || cfg.TURN.TLSPort != 5349 || cfg.TURN.Host != "meet.example.org" {
		t.Fatalf("TURN with HTTPS on: TLS %v on %d, host %q", cfg.TURN.TLS != nil, cfg.TURN.TLSPort, cfg.TURN.Host)
	}
	if len(cfg.TURN.TLS.NextProtos) != 0 || len(web.TLS.NextProtos) != 3 {
		t.Errorf("TURN's ALPN %v (want none), the web's %v (want untouched)", cfg.TURN.TLS.NextProtos, web.TLS.NextProtos)
	}
	own := &tls.Config{}
	cfg = server.Config{TURN: &server.TURNConfig{TLS: own, Host: "turn.example.org"}}
	f.shareTLS(&cfg, web)
	if cfg.TURN.TLS != own || cfg.TURN.Host != "turn.example.org" {
		t.Error("a TURN certificate of its own was replaced by the web's")
	}
	cfg = server.Config{}
	f.shareTLS(&cfg, web)
	if cfg.TURN != nil {
		t.Error("no --turn, yet a TURN server")
	}
}
