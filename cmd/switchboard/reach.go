package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/tlsutil"
	"github.com/switchboard-rtc/switchboard/server"
)

// reachFlags are the flags of the ways clients reach the media: ICE over TCP, the
// built-in TURN server and external STUN/TURN servers.
type reachFlags struct {
	iceTCP                     bool
	iceTCPPort                 uint
	iceServers                 string
	iceUsername, iceCredential string
	iceSharedSecret            string
	turn                       bool
	turnPort, turnTLSPort      uint
	turnTLSCert, turnTLSKey    string
	turnSecret, turnHost       string
	turnRelayIP                string
	turnTTL                    time.Duration
}

func (f *reachFlags) declare(fs *flag.FlagSet) {
	fs.BoolVar(&f.iceTCP, "ice-tcp", true, "offer ICE-TCP candidates on --ice-tcp-port, for clients whose network blocks UDP")
	fs.UintVar(&f.iceTCPPort, "ice-tcp-port", server.DefaultICETCPPort,
		"the one TCP `port` of ICE-TCP candidates (0 picks a free port)")
	fs.StringVar(&f.iceServers, "ice-servers", "", "comma-separated STUN/TURN `urls` for clients and the server")
	fs.StringVar(&f.iceUsername, "ice-username", "", "static TURN `username` for the turn: URLs of --ice-servers (with --ice-credential)")
	fs.StringVar(&f.iceCredential, "ice-credential", "", "static TURN `password` for the turn: URLs of --ice-servers")
	fs.StringVar(&f.iceSharedSecret, "ice-shared-secret", "",
		"shared `secret` of the turn: URLs of --ice-servers (coturn's use-auth-secret): each client gets credentials of its own")
	fs.BoolVar(&f.turn, "turn", false, "run the built-in TURN server on --turn-port (UDP and TCP) and, with a certificate, --turn-tls-port")
	fs.UintVar(&f.turnPort, "turn-port", server.DefaultTURNPort, "UDP and TCP `port` of the built-in TURN server (0 picks a free port)")
	fs.UintVar(&f.turnTLSPort, "turn-tls-port", server.DefaultTURNTLSPort, "TURN over TLS `port`, with --turn-tls-cert (0 picks a free port)")
	fs.StringVar(&f.turnTLSCert, "turn-tls-cert", "", "PEM certificate `file` for TURN over TLS (with --turn-tls-key)")
	fs.StringVar(&f.turnTLSKey, "turn-tls-key", "", "PEM private key `file` for TURN over TLS")
	fs.StringVar(&f.turnSecret, "turn-secret", "",
		"`secret` signing the built-in TURN server's credentials, at least 16 bytes (default: random at start)")
	fs.StringVar(&f.turnHost, "turn-host", "",
		"host `name` or address of the TURN URLs given to clients (default: the first --public-ip, else this machine's address)")
	fs.StringVar(&f.turnRelayIP, "turn-relay-ip", "",
		"`address` relays are announced at (default: the first --public-ip, else this machine's address)")
	fs.DurationVar(&f.turnTTL, "turn-ttl", server.DefaultTURNCredentialTTL, "how long a client's TURN credentials are good for")
}

// apply sets what the flags configure in cfg.
func (f *reachFlags) apply(cfg *server.Config) error {
	if f.iceTCPPort > 65535 {
		return fmt.Errorf("--ice-tcp-port: %d is not a port", f.iceTCPPort)
	}
	cfg.Media.ICETCP, cfg.Media.ICETCPPort = f.iceTCP, uint16(f.iceTCPPort)
	if err := f.applyICEServers(cfg); err != nil {
		return err
	}
	if !f.turn {
		if f.turnTLSCert != "" || f.turnTLSKey != "" || f.turnSecret != "" {
			return errors.New("--turn-tls-cert, --turn-tls-key and --turn-secret configure the built-in TURN server: add --turn")
		}
		return nil
	}
	return f.applyTURN(cfg)
}

// applyICEServers configures the external STUN/TURN servers. The server's own
// connections use them with static credentials only: credentials of the shared
// secret are minted per client.
func (f *reachFlags) applyICEServers(cfg *server.Config) error {
	urls := splitList(f.iceServers)
	switch {
	case (f.iceUsername == "") != (f.iceCredential == ""):
		return errors.New("--ice-username and --ice-credential go together")
	case f.iceUsername != "" && f.iceSharedSecret != "":
		return errors.New("--ice-username/--ice-credential and --ice-shared-secret are two kinds of TURN credentials: pick one")
	case len(urls) == 0 && (f.iceUsername != "" || f.iceSharedSecret != ""):
		return errors.New("TURN credentials without --ice-servers")
	}
	var stun, turn []string
	for _, u := range urls {
		switch {
		case hasPrefix(u, "stun:", "stuns:"):
			stun = append(stun, u)
		case hasPrefix(u, "turn:", "turns:"):
			turn = append(turn, u)
		default:
			return fmt.Errorf("--ice-servers: %q is neither a stun: nor a turn: URL", u)
		}
	}
	if len(stun) > 0 {
		cfg.ClientICEServers = append(cfg.ClientICEServers, webrtc.ICEServer{URLs: stun})
	}
	if len(turn) > 0 {
		cfg.ClientICEServers = append(cfg.ClientICEServers, webrtc.ICEServer{URLs: turn, Username: f.iceUsername, Credential: f.iceCredential})
	}
	cfg.ClientICESecret = f.iceSharedSecret
	for _, s := range cfg.ClientICEServers {
		if s.Username != "" || !hasPrefix(s.URLs[0], "turn") {
			cfg.Media.ICEServers = append(cfg.Media.ICEServers, s)
		}
	}
	return nil
}

func hasPrefix(s string, prefixes ...string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}

// applyTURN configures the built-in TURN server.
func (f *reachFlags) applyTURN(cfg *server.Config) error {
	for name, port := range map[string]uint{"--turn-port": f.turnPort, "--turn-tls-port": f.turnTLSPort} {
		if port > 65535 {
			return fmt.Errorf("%s: %d is not a port", name, port)
		}
	}
	if f.turnSecret != "" && len(f.turnSecret) < 16 {
		return errors.New("--turn-secret: fewer than 16 bytes")
	}
	t := &server.TURNConfig{Port: uint16(f.turnPort), Secret: f.turnSecret, CredentialTTL: f.turnTTL, Host: f.turnHost}
	if f.turnTTL <= 0 {
		return fmt.Errorf("--turn-ttl: %v is not a duration", f.turnTTL)
	}
	if f.turnRelayIP != "" {
		a, err := netip.ParseAddr(f.turnRelayIP)
		if err != nil {
			return fmt.Errorf("--turn-relay-ip: %w", err)
		}
		t.RelayIP = a
	}
	switch {
	case f.turnTLSCert != "" && f.turnTLSKey != "":
		cert, err := tls.LoadX509KeyPair(f.turnTLSCert, f.turnTLSKey)
		if err != nil {
			return fmt.Errorf("--turn-tls-cert, --turn-tls-key: %w", err)
		}
		t.TLS, t.TLSPort = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, uint16(f.turnTLSPort)
	case f.turnTLSCert != "" || f.turnTLSKey != "":
		return errors.New("--turn-tls-cert and --turn-tls-key go together")
	}
	cfg.TURN = t
	return nil
}

// shareTLS gives the built-in TURN server the HTTPS certificate (files, ACME or
// self-signed) when HTTPS is on and no certificate of its own was given, so that
// --turn beside --tls-* also serves TURN over TLS on --turn-tls-port, in URLs that
// name the certificate's host.
func (f *reachFlags) shareTLS(cfg *server.Config, web *tlsutil.Setup) {
	if cfg.TURN == nil || cfg.TURN.TLS != nil || web == nil {
		return
	}
	c := web.TLS.Clone()
	c.NextProtos = nil // HTTP's and ACME's protocols; TURN clients name none
	cfg.TURN.TLS, cfg.TURN.TLSPort = c, uint16(f.turnTLSPort)
	if cfg.TURN.Host == "" {
		cfg.TURN.Host = web.Host
	}
}

// logReach logs the ports of ICE-TCP and of the TURN server.
func logReach(log *slog.Logger, srv *server.Server) {
	if port := srv.ICETCPPort(); port != 0 {
		log.Info("ICE-TCP candidates on one TCP port", "port", port)
	}
	if urls := srv.TURNURLs(); len(urls) > 0 {
		log.Info("TURN server", "urls", urls)
	}
}
