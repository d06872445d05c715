package turn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
)

// These tests run a TURN server on loopback and a Pion TURN client against it: run
// them inside unshare -n, as scripts/test.sh does.

var secret = []byte("0123456789abcdef0123456789abcdef")

var loopback = netip.MustParseAddr("127.0.0.1")

// start runs a server on loopback, relaying to the peers allow allows.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.ListenIP, cfg.RelayIP = loopback, loopback
	if cfg.Secret == nil {
		cfg.Secret = secret
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// allocate asks s for a relay over UDP with username and password.
func allocate(t *testing.T, s *Server, username, password string) (net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	addr := "127.0.0.1:" + strconv.Itoa(s.UDPPort())
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
		Username: username, Password: password, Realm: "switchboard", RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err == nil {
		t.Cleanup(func() { _ = relay.Close() })
	}
	return relay, err
}

// TestCredentials: credentials signed with the server's secret are accepted until
// they expire; expired ones, wrong passwords, another secret's and usernames not
// of the scheme are refused.
func TestCredentials(t *testing.T) {
	s := start(t, Config{AllowPeer: func(netip.AddrPort) bool { return true }})
	future := time.Now().Add(time.Hour)
	user, pass := Credentials(secret, "ada", future)
	if !strings.HasSuffix(user, ":ada") {
		t.Errorf("username %q", user)
	}
	if _, err := allocate(t, s, user, pass); err != nil {
		t.Fatalf("valid credentials refused: %v", err)
	}
	expiredUser, expiredPass := Credentials(secret, "ada", time.Now().Add(-time.Second))
	otherUser, otherPass := Credentials([]byte("another secret, 32 bytes long!!!"), "ada", future)
	for _, c := range []struct{ name, user, pass string }{
		{"expired", expiredUser, expiredPass},
		{"wrong password", user, pass[1:] + "x"},
		{"another secret's", otherUser, otherPass},
		{"no expiry", "ada", pass},
		{"expiry not a number", "soon:ada", pass},
	} {
		if _, err := allocate(t, s, c.user, c.pass); err == nil {
			t.Errorf("%s credentials accepted", c.name)
		}
	}
}

// TestRelayPeers: by default a relay reaches no loopback or private address; with
// AllowPeer, exactly the addresses and ports it allows, packet by packet.
func TestRelayPeers(t *testing.T) {
	for _, peer := range []string{"127.0.0.1:9", "10.1.2.3:9"} {
		s := start(t, Config{})
		relay := relayFor(t, s)
		to, err := net.ResolveUDPAddr("udp4", peer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := relay.WriteTo([]byte("hello"), to); err == nil {
			t.Errorf("by default, a relay to %s was allowed", peer)
		}
	}
	// Two peers on loopback, one on an allowed port.
	allowed, refused := listenUDP(t), listenUDP(t)
	port := uint16(allowed.LocalAddr().(*net.UDPAddr).Port)
	s := start(t, Config{AllowPeer: func(ap netip.AddrPort) bool {
		return ap.Addr() == loopback && (ap.Port() == 0 || ap.Port() == port)
	}})
	relay := relayFor(t, s)
	if _, err := relay.WriteTo([]byte("hello"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 5), Port: 9}); err == nil {
		t.Error("a relay to another loopback address was allowed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, c := range []net.PacketConn{allowed, refused} {
			if _, err := relay.WriteTo([]byte("hello"), c.LocalAddr()); err != nil {
				t.Fatalf("relay to %s: %v", c.LocalAddr(), err)
			}
		}
		if received(allowed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the allowed peer received nothing through the relay")
		}
	}
	if received(refused) {
		t.Error("a peer on a port AllowPeer refuses received packets through the relay")
	}
}

// relayFor allocates a relay on s with valid credentials.
func relayFor(t *testing.T, s *Server) net.PacketConn {
	t.Helper()
	user, pass := Credentials(secret, "ada", time.Now().Add(time.Hour))
	relay, err := allocate(t, s, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return relay
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// received reports whether c receives a packet within 200 ms.
func received(c net.PacketConn) bool {
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 64)
	_, _, err := c.ReadFrom(buf)
	return err == nil
}

// TestNoTCPRelays: TCP allocations (RFC 6062) are refused.
func TestNoTCPRelays(t *testing.T) {
	s := start(t, Config{AllowPeer: func(netip.AddrPort) bool { return true }})
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.TCPPort()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	user, pass := Credentials(secret, "ada", time.Now().Add(time.Hour))
	addr := conn.RemoteAddr().String()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr,
		Conn: pionturn.NewSTUNConn(conn), Username: user, Password: pass, Realm: "switchboard"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	if a, err := c.AllocateTCP(); err == nil {
		_ = a.Close()
		t.Error("a TCP relay was allocated")
	}
}

// TestRelaysPerAddress: one client address holds at most MaxAllocationsPerAddress
// relays.
func TestRelaysPerAddress(t *testing.T) {
	s := start(t, Config{MaxAllocationsPerAddress: 1})
	user, pass := Credentials(secret, "ada", time.Now().Add(time.Hour))
	if _, err := allocate(t, s, user, pass); err != nil {
		t.Fatal(err)
	}
	if _, err := allocate(t, s, user, pass); err == nil {
		t.Error("a second relay for the address was allocated")
	}
}

func TestPublicUnicast(t *testing.T) {
	for addr, want := range map[string]bool{"8.8.8.8": true, "2001:4860::8888": true, "127.0.0.1": false, "10.0.0.1": false,
		"192.168.1.1": false, "172.16.0.1": false, "100.64.0.1": false, "169.254.1.1": false, "::1": false, "fd00::1": false,
		"fe80::1": false, "0.0.0.0": false, "224.0.0.1": false, "::ffff:10.0.0.1": false} {
		if got := PublicUnicast(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicUnicast(%s) = %v", addr, got)
		}
	}
}

func TestSecretTooShort(t *testing.T) {
	if _, err := New(Config{Secret: []byte("short"), RelayIP: loopback}); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
}

// TestTLS: with a certificate, the server takes allocations over TLS on its TLS
// port, with the same credentials.
func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	s := start(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		AllowPeer: func(netip.AddrPort) bool { return true }})
	if s.TLSPort() == 0 || s.TLSPort() == s.TCPPort() {
		t.Fatalf("TLS port %d (TCP %d)", s.TLSPort(), s.TCPPort())
	}
	addr := "127.0.0.1:" + strconv.Itoa(s.TLSPort())
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	user, pass := Credentials(secret, "ada", time.Now().Add(time.Hour))
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr,
		Conn: pionturn.NewSTUNConn(conn), Username: user, Password: pass, Realm: "switchboard"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocation over TLS: %v", err)
	}
	_ = relay.Close()
}

// selfSigned is a certificate for 127.0.0.1, and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "turn test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
