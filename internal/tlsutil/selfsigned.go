package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Self-signed certificates: their files in the cache directory, how long one is
// made for, and how long before its end a new one is made at start.
const (
	selfSignedCert     = "self-signed.crt"
	selfSignedKey      = "self-signed.key"
	selfSignedLifetime = 365 * 24 * time.Hour
	selfSignedRenew    = 30 * 24 * time.Hour
)

// Trust says how to trust a self-signed certificate.
type Trust struct {
	CertFile string   // the certificate, PEM: the file to import into a browser or system
	Names    []string // the names and addresses it covers
	// SHA256 is the certificate's fingerprint as browsers show it: colon-separated
	// upper-case hex.
	SHA256 string
	// SPKI is the base64 SHA-256 of its public key, the form of Chromium's
	// --ignore-certificate-errors-spki-list.
	SPKI string
}

// selfSignedSetup reuses the self-signed certificate of the cache directory while it
// covers this host's names and has a month to live, and makes a new one otherwise.
func selfSignedSetup(c Config) (*Setup, error) {
	dir, err := cacheDir(c.CacheDir)
	if err != nil {
		return nil, err
	}
	dns, ips := localNames(c.ExtraIPs)
	certFile, keyFile := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil || !covers(cert.Leaf, dns, ips, time.Now().Add(selfSignedRenew)) {
		if cert, err = makeSelfSigned(certFile, keyFile, dns, ips); err != nil {
			return nil, fmt.Errorf("--tls-self-signed: %w", err)
		}
	}
	cfg := baseConfig()
	cfg.Certificates = []tls.Certificate{cert}
	return &Setup{TLS: cfg, Trust: trustOf(cert.Leaf, certFile)}, nil
}

// localNames are what a self-signed certificate covers: localhost and this host's
// name, loopback and every address of the host's interfaces, and extra.
func localNames(extra []string) (dns []string, ips []net.IP) {
	dns = []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" && net.ParseIP(h) == nil {
		dns = append(dns, h)
	}
	ips = []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			ips = appendIP(ips, n.IP)
		}
	}
	for _, s := range extra {
		if ip := net.ParseIP(s); ip != nil {
			ips = appendIP(ips, ip)
		}
	}
	return dns, ips
}

func appendIP(ips []net.IP, ip net.IP) []net.IP {
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if slices.ContainsFunc(ips, ip.Equal) {
		return ips
	}
	return append(ips, ip)
}

// covers reports whether leaf names every one of dns and ips and is still valid at
// until.
func covers(leaf *x509.Certificate, dns []string, ips []net.IP, until time.Time) bool {
	if leaf == nil || until.After(leaf.NotAfter) {
		return false
	}
	for _, d := range dns {
		if !slices.Contains(leaf.DNSNames, d) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// makeSelfSigned makes a certificate for dns and ips and writes it, with its key
// (readable by its owner only), to certFile and keyFile.
func makeSelfSigned(certFile, keyFile string, dns []string, ips []net.IP) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Switchboard"}, CommonName: "Switchboard self-signed " + dns[len(dns)-1]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := errors.Join(os.WriteFile(keyFile, keyPEM, 0o600), os.WriteFile(certFile, certPEM, 0o644)); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// trustOf describes leaf, kept in certFile.
func trustOf(leaf *x509.Certificate, certFile string) *Trust {
	t := &Trust{CertFile: certFile, Names: slices.Clone(leaf.DNSNames)}
	for _, ip := range leaf.IPAddresses {
		t.Names = append(t.Names, ip.String())
	}
	t.SHA256 = Fingerprint(leaf.Raw)
	t.SPKI = SPKIHash(leaf)
	return t
}

// Fingerprint is the SHA-256 of a certificate's DER as browsers show it:
// colon-separated upper-case hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}

// SPKIHash is the base64 SHA-256 of a certificate's public key (its
// SubjectPublicKeyInfo), as Chromium's --ignore-certificate-errors-spki-list takes it.
func SPKIHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
