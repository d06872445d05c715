package server

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/turn"
)

// TURNConfig configures the built-in TURN server (package turn). Clients get its
// URLs in joined, in the Link headers of admitted WHIP/WHEP requests and from
// GET /v1/connectivity, each with credentials of its own that expire after
// CredentialTTL (the TURN REST API scheme, turn.Credentials).
type TURNConfig struct {
	// Port is the port of TURN over UDP and TCP; zero picks a free one
	// (DefaultTURNPort is the binary's default).
	Port uint16
	// TLS, when set, serves TURN over TLS on TLSPort (zero: a free port;
	// DefaultTURNTLSPort is the binary's default). Browsers check the certificate
	// against Host.
	TLS     *tls.Config
	TLSPort uint16
	// Secret signs the credentials. Empty: a random one at start, so that
	// credentials die with the process (set one to share it with other servers or
	// keep credentials valid across restarts).
	Secret string
	// CredentialTTL is how long a client's credentials are good for
	// [DefaultTURNCredentialTTL]. A relay is refreshed with them every few minutes:
	// a call that outlasts them loses its relay.
	CredentialTTL time.Duration
	// Host is the host name or address in the URLs handed to clients; empty means
	// RelayIP. For TLS, a name the certificate covers.
	Host string
	// RelayIP is the address relays are announced at. The zero value means the
	// first of Media.PublicIPs, else the first address of the media port that is
	// not loopback, else loopback.
	RelayIP netip.Addr
	// MaxAllocationsPerAddress bounds the relays of one client address
	// [turn.DefaultMaxAllocationsPerAddress]; negative: no limit.
	MaxAllocationsPerAddress int
}

// iceServers hands clients their ICE servers: the configured ones, credentials of
// their own for the TURN servers of ClientICESecret, and the built-in TURN server's.
type iceServers struct {
	static []webrtc.ICEServer // handed out as configured
	rest   []restServer       // handed out with credentials of the client's own
	ttl    time.Duration
	now    func() time.Time
}

// restServer is a TURN server that takes credentials of the TURN REST API scheme
// signed with secret.
type restServer struct {
	server  webrtc.ICEServer
	secret  []byte
	builtin bool // the built-in TURN server
}

// newICEServers sorts cfg's client ICE servers, and adds the built-in TURN server,
// if any, at its URLs with its secret.
func newICEServers(cfg Config, builtin *restServer) *iceServers {
	ice := &iceServers{ttl: cfg.TURN.credentialTTL(), now: time.Now}
	for _, s := range cfg.ClientICEServers {
		if cfg.ClientICESecret != "" && s.Username == "" && hasTURN(s.URLs) {
			ice.rest = append(ice.rest, restServer{server: s, secret: []byte(cfg.ClientICESecret)})
			continue
		}
		ice.static = append(ice.static, s)
	}
	if builtin != nil {
		ice.rest = append(ice.rest, *builtin)
	}
	return ice
}

func (c *TURNConfig) credentialTTL() time.Duration {
	if c == nil || c.CredentialTTL <= 0 {
		return DefaultTURNCredentialTTL
	}
	return c.CredentialTTL
}

// hasTURN reports whether urls name a TURN server (turn: or turns:).
func hasTURN(urls []string) bool {
	return slices.ContainsFunc(urls, func(u string) bool { return strings.HasPrefix(u, "turn") })
}

// For returns the ICE servers of who, a client's identity or participant id.
func (ice *iceServers) For(who string) []webrtc.ICEServer {
	out := slices.Clone(ice.static)
	expires := ice.now().Add(ice.ttl)
	for _, r := range ice.rest {
		s := r.server
		s.Username, s.Credential = turn.Credentials(r.secret, who, expires)
		out = append(out, s)
	}
	return out
}

// startICE starts the built-in TURN server, if configured, and sets what clients
// are handed.
func (s *Server) startICE(cfg Config) error {
	var builtin *restServer
	if cfg.TURN != nil {
		var err error
		if s.turn, builtin, err = startTURN(cfg, s.engine, s.log); err != nil {
			return err
		}
	}
	s.ice, s.publicIPs = newICEServers(cfg, builtin), cfg.Media.PublicIPs
	return nil
}

// iceServersFor are the ICE servers handed to who, a client's identity or
// participant id.
func (s *Server) iceServersFor(who string) []webrtc.ICEServer { return s.ice.For(who) }

// startTURN starts the built-in TURN server of cfg.TURN, relaying to the media
// addresses of engine and to public addresses, and returns it with the ICE
// server clients reach it at (its URLs and secret).
func startTURN(cfg Config, engine *sfu.Engine, log *slog.Logger) (*turn.Server, *restServer, error) {
	tc := cfg.TURN
	secret := []byte(tc.Secret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // never fails (crypto/rand)
	}
	own := ownAddrs(cfg.Media.PublicIPs, engine.MediaAddrs())
	relayIP := tc.RelayIP
	if !relayIP.IsValid() {
		relayIP = preferredAddr(own)
	}
	if !relayIP.IsValid() {
		return nil, nil, fmt.Errorf("server: TURN: no address to announce relays at: set TURNConfig.RelayIP (--public-ip)")
	}
	srv, err := turn.New(turn.Config{Secret: secret, Port: tc.Port, TLS: tc.TLS, TLSPort: tc.TLSPort, RelayIP: relayIP,
		MaxAllocationsPerAddress: tc.MaxAllocationsPerAddress, LoggerFactory: sfu.PionLogs(log.With("component", "turn")),
		AllowPeer: relayPolicy(own, mediaPorts(cfg.Media, engine))})
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	host := tc.Host
	if host == "" {
		host = relayIP.String()
	}
	return srv, &restServer{server: webrtc.ICEServer{URLs: turnURLs(host, srv)}, secret: secret, builtin: true}, nil
}

// relayPolicy lets relays send to the media ports of the server's own addresses,
// whatever they are (loopback in tests, private behind a NAT), and to any port of a
// public unicast address (the peers of mesh rooms); nothing else of the server's
// network.
func relayPolicy(own []netip.Addr, media func(port uint16) bool) func(netip.AddrPort) bool {
	return func(ap netip.AddrPort) bool {
		if slices.Contains(own, ap.Addr()) && (ap.Port() == 0 || media(ap.Port())) {
			return true
		}
		return turn.PublicUnicast(ap.Addr())
	}
}

// mediaPorts says which UDP ports carry media: the shared port, else the range of
// ports per connection, else any.
func mediaPorts(cfg sfu.Config, engine *sfu.Engine) func(uint16) bool {
	if shared := engine.UDPPort(); shared != 0 {
		return func(p uint16) bool { return int(p) == shared }
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		return func(p uint16) bool { return p >= cfg.UDPPortMin && p <= cfg.UDPPortMax }
	}
	return func(uint16) bool { return true }
}

// turnURLs are the URLs of srv at host: over UDP, TCP and, when it serves it, TLS.
func turnURLs(host string, srv *turn.Server) []string {
	at := func(port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
	urls := []string{"turn:" + at(srv.UDPPort()) + "?transport=udp", "turn:" + at(srv.TCPPort()) + "?transport=tcp"}
	if srv.TLSPort() != 0 {
		urls = append(urls, "turns:"+at(srv.TLSPort())+"?transport=tcp")
	}
	return urls
}

// ownAddrs are the server's own media addresses: the public ones it announces and
// those its media port listens on.
func ownAddrs(public []string, media []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, p := range public {
		if a, err := netip.ParseAddr(p); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return append(out, media...)
}

// preferredAddr is the first of addrs that is not loopback, IPv4 before IPv6, else
// the first loopback one, IPv4 before IPv6.
func preferredAddr(addrs []netip.Addr) netip.Addr {
	for _, loopback := range []bool{false, true} {
		for _, v4 := range []bool{true, false} {
			for _, a := range addrs {
				if a.IsLoopback() == loopback && a.Is4() == v4 {
					return a
				}
			}
		}
	}
	return netip.Addr{}
}

// TURNURLs are the URLs of the built-in TURN server, none without Config.TURN.
func (s *Server) TURNURLs() []string {
	for _, r := range s.ice.rest {
		if r.builtin {
			return r.server.URLs
		}
	}
	return nil
}
