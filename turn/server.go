// Package turn is Switchboard's built-in TURN server (RFC 8656, on Pion's TURN
// library): it relays the media of clients whose network lets nothing reach the
// server's own media ports (UDP blocked, only a proxy or port 443 out). It listens on
// UDP and TCP on one port, and over TLS on another; it accepts only credentials of
// the TURN REST API scheme (Credentials) signed with its secret; and it relays only
// to the peers its configuration allows, never to any address of its own network.
package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
)

// Config configures a Server. Secret and RelayIP are required.
type Config struct {
	// Secret signs the credentials the server accepts (Credentials). At least 16
	// bytes: anyone who knows it can relay through the server.
	Secret []byte
	// ListenIP is the address to listen on; the zero value means every address.
	ListenIP netip.Addr
	// Port is the port of TURN over UDP and over TCP; zero picks a free one (the same
	// for both).
	Port uint16
	// TLS, when set, serves TURN over TLS (turns:) on TLSPort (zero: a free port).
	TLS     *tls.Config
	TLSPort uint16
	// RelayIP is the address relays are announced at: the server's public address.
	// RelayListenIP is where they are opened; the zero value means RelayIP when it is
	// an address of this machine, else (behind a 1:1 NAT) every IPv4 address.
	RelayIP, RelayListenIP netip.Addr
	// AllowPeer says which peers a relay may send to: it is asked with the port of
	// every packet, and with port 0 when a client asks for a permission (which names
	// an address, not a port), meaning "some port of this address". Nil allows only
	// public unicast addresses (PublicUnicast): never loopback, private, link-local
	// or shared (CGNAT) ones, so that the relay cannot be used to reach the server's
	// own network.
	AllowPeer func(netip.AddrPort) bool
	// MaxAllocationsPerAddress bounds the relays one client address holds at a time
	// [DefaultMaxAllocationsPerAddress]; a negative value means no limit.
	MaxAllocationsPerAddress int
	// Realm is the TURN realm ["switchboard"].
	Realm string
	// LoggerFactory receives Pion's logs; nil discards them.
	LoggerFactory logging.LoggerFactory
}

// DefaultMaxAllocationsPerAddress is the default of MaxAllocationsPerAddress: a
// browser takes one relay per TURN URL and connection (up to six for a participant
// given UDP, TCP and TLS URLs), and an office may share one address.
const DefaultMaxAllocationsPerAddress = 1000

// Server is a running TURN server. Close stops it.
type Server struct {
	srv                    *pionturn.Server
	udpPort, tcpPort, tlsP int

	mu     sync.Mutex
	allocs map[netip.Addr]int // relays by client address
	max    int
}

// New starts a TURN server.
func New(cfg Config) (*Server, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("turn: the secret has fewer than 16 bytes")
	}
	if !cfg.RelayIP.IsValid() {
		return nil, errors.New("turn: no relay address")
	}
	s := &Server{allocs: map[netip.Addr]int{}, max: cfg.MaxAllocationsPerAddress}
	if s.max == 0 {
		s.max = DefaultMaxAllocationsPerAddress
	}
	pc, ln, tlsLn, err := listen(cfg)
	if err != nil {
		return nil, err
	}
	s.udpPort = pc.LocalAddr().(*net.UDPAddr).Port
	s.tcpPort = ln.Addr().(*net.TCPAddr).Port
	allowPeer := cfg.AllowPeer
	if allowPeer == nil {
		allowPeer = func(ap netip.AddrPort) bool { return PublicUnicast(ap.Addr()) }
	}
	relay := &relays{RelayAddressGeneratorStatic: relayGenerator(cfg), allow: allowPeer}
	allow := permission(allowPeer)
	sc := pionturn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   authHandler(cfg.Secret, time.Now),
		QuotaHandler:  s.quota,
		EventHandler:  pionturn.EventHandler{OnAllocationCreated: s.created, OnAllocationDeleted: s.deleted},
		LoggerFactory: cfg.LoggerFactory,
		PacketConnConfigs: []pionturn.PacketConnConfig{
			{PacketConn: pc, RelayAddressGenerator: relay, PermissionHandler: allow}},
		ListenerConfigs: []pionturn.ListenerConfig{{Listener: ln, RelayAddressGenerator: relay, PermissionHandler: allow}},
	}
	if sc.Realm == "" {
		sc.Realm = "switchboard"
	}
	if sc.LoggerFactory == nil {
		sc.LoggerFactory = quiet{}
	}
	if tlsLn != nil {
		s.tlsP = tlsLn.Addr().(*net.TCPAddr).Port
		sc.ListenerConfigs = append(sc.ListenerConfigs, pionturn.ListenerConfig{Listener: tls.NewListener(tlsLn, cfg.TLS),
			RelayAddressGenerator: relay, PermissionHandler: allow})
	}
	if s.srv, err = pionturn.NewServer(sc); err != nil {
		closeAll(pc, ln, tlsLn)
		return nil, fmt.Errorf("turn: %w", err)
	}
	return s, nil
}

// portAttempts bounds the tries at a port free for both UDP and TCP when the
// system picks it (Config.Port 0): the port of a free UDP socket may be taken on
// the TCP side, by an outgoing connection for instance.
const portAttempts = 20

// listen opens the UDP socket and the TCP listener on one port, and the TLS one.
func listen(cfg Config) (net.PacketConn, net.Listener, net.Listener, error) {
	host := ""
	if cfg.ListenIP.IsValid() {
		host = cfg.ListenIP.String()
	}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range portAttempts {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(int(cfg.Port))))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("turn: UDP: %w", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			break
		}
		_ = pc.Close()
		if cfg.Port != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("turn: TCP: %w", err)
	}
	if cfg.TLS == nil {
		return pc, ln, nil, nil
	}
	tlsLn, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(int(cfg.TLSPort))))
	if err != nil {
		closeAll(pc, ln, nil)
		return nil, nil, nil, fmt.Errorf("turn: TLS: %w", err)
	}
	return pc, ln, tlsLn, nil
}

func closeAll(pc net.PacketConn, ln, tlsLn net.Listener) {
	_ = pc.Close()
	_ = ln.Close()
	if tlsLn != nil {
		_ = tlsLn.Close()
	}
}

// relayGenerator opens relays on RelayListenIP and announces them at RelayIP.
func relayGenerator(cfg Config) *pionturn.RelayAddressGeneratorStatic {
	listenAt := cfg.RelayListenIP
	if !listenAt.IsValid() {
		listenAt = netip.IPv4Unspecified()
		if local(cfg.RelayIP) {
			listenAt = cfg.RelayIP
		}
	}
	return &pionturn.RelayAddressGeneratorStatic{RelayAddress: net.IP(cfg.RelayIP.AsSlice()), Address: listenAt.String()}
}

// local reports whether a is an address of this machine.
func local(a netip.Addr) bool {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(a.String(), "0"))
	if err != nil {
		return false
	}
	_ = pc.Close()
	return true
}

// permission turns allow into Pion's permission handler.
func permission(allow func(netip.AddrPort) bool) pionturn.PermissionHandler {
	return func(_ net.Addr, peer net.IP) bool {
		a, ok := netip.AddrFromSlice(peer)
		return ok && allow(netip.AddrPortFrom(a.Unmap(), 0))
	}
}

// PublicUnicast reports whether a is a unicast address of the public internet: not
// loopback, private (RFC 1918, fc00::/7), link-local, shared (100.64.0.0/10),
// unspecified or multicast.
func PublicUnicast(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !shared.Contains(a)
}

var shared = netip.MustParsePrefix("100.64.0.0/10")

// UDPPort, TCPPort and TLSPort are the ports the server listens on (TLSPort 0
// without TLS).
func (s *Server) UDPPort() int { return s.udpPort }
func (s *Server) TCPPort() int { return s.tcpPort }
func (s *Server) TLSPort() int { return s.tlsP }

// Close stops the server and ends every relay.
func (s *Server) Close() error { return s.srv.Close() }

// quota refuses a new relay to a client address that holds its maximum.
func (s *Server) quota(_, _ string, src net.Addr) bool {
	if s.max < 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocs[addrOf(src)] < s.max
}

func (s *Server) created(src, _ net.Addr, _, _, _ string, _ net.Addr, _ int) {
	s.mu.Lock()
	s.allocs[addrOf(src)]++
	s.mu.Unlock()
}

func (s *Server) deleted(src, _ net.Addr, _, _, _ string) {
	a := addrOf(src)
	s.mu.Lock()
	if s.allocs[a]--; s.allocs[a] <= 0 {
		delete(s.allocs, a)
	}
	s.mu.Unlock()
}

// addrOf is the IP address of a client's UDP or TCP address.
func addrOf(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// authHandler accepts the unexpired credentials that secret signed: it gives Pion
// the key of the password the username must come with, and Pion checks the
// request's integrity with it.
func authHandler(secret []byte, now func() time.Time) pionturn.AuthHandler {
	return func(ra *pionturn.RequestAttributes) (string, []byte, bool) {
		user, password, err := checkUsername(secret, ra.Username, now())
		if err != nil {
			return "", nil, false
		}
		return user, pionturn.GenerateAuthKey(ra.Username, ra.Realm, password), true
	}
}

// quiet is a logger factory that discards everything.
type quiet struct{}

func (quiet) NewLogger(string) logging.LeveledLogger {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f.NewLogger("turn")
}
