package tlsutil

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// acmeSetup gets certificates for c.Domains from an ACME CA, on the first
// handshake that names one of them, and renews them before they expire. The CA
// proves control of a name with tls-alpn-01 on the HTTPS listener (which must then
// be reachable on port 443) or, when the binary serves RedirectHandler on port 80,
// http-01 there.
func acmeSetup(c Config) (*Setup, error) {
	for _, d := range c.Domains {
		if err := checkDomain(d); err != nil {
			return nil, fmt.Errorf("--tls-domain: %w", err)
		}
	}
	dirURL := c.ACMEDirectory
	if dirURL == "" {
		dirURL = DefaultACMEDirectory
	}
	if u, err := url.Parse(dirURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--acme-directory: %q is not an https URL", dirURL)
	}
	client, err := acmeHTTPClient(c.ACMECAFile)
	if err != nil {
		return nil, err
	}
	dir, err := cacheDir(c.CacheDir)
	if err != nil {
		return nil, err
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(c.Domains...),
		Email:      c.ACMEEmail,
		Client:     &acme.Client{DirectoryURL: dirURL, HTTPClient: client},
	}
	cfg := m.TLSConfig()
	cfg.MinVersion = tls.VersionTLS12
	cfg.GetCertificate = logFailures(m.GetCertificate, c.Domains, c.Logger)
	return &Setup{TLS: cfg, Host: c.Domains[0], challenges: func(next http.Handler) http.Handler {
		return withoutPort(m.HTTPHandler(next))
	}}, nil
}

// withoutPort drops the port from a request's Host before h sees it: autocert checks
// the Host of an http-01 request against its list of names as it is, which fails
// when the CA validates on a port other than 80 (a test CA, a private one).
func withoutPort(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r = r.Clone(r.Context())
			r.Host = host
		}
		h.ServeHTTP(w, r)
	})
}

// logFailures logs, at Warn, every handshake for one of domains that got no
// certificate: the CA refused, could not be reached, or could not validate. The
// handshakes of other names (scanners, addresses) fail without a word.
func logFailures(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), domains []string,
	log *slog.Logger) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	log = cmp.Or(log, slog.Default())
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := get(hello)
		if name := strings.ToLower(strings.TrimSuffix(hello.ServerName, ".")); err != nil && slices.Contains(domains, name) {
			log.Warn("TLS: no certificate from the ACME CA", "domain", name, "err", err)
		}
		return cert, err
	}
}

// checkDomain refuses what cannot get a certificate by http-01 or tls-alpn-01: an
// address, a wildcard, a name with a port or a scheme.
func checkDomain(d string) error {
	switch {
	case d == "":
		return errors.New("empty name")
	case strings.ContainsAny(d, "*:/ "):
		return fmt.Errorf("%q is not a plain domain name (no wildcard, port or scheme)", d)
	case strings.Trim(d, "0123456789.") == "":
		return fmt.Errorf("%q is an address: ACME certificates here are for names", d)
	}
	return nil
}

// acmeHTTPClient is the client that talks to the ACME directory: the system's
// roots, or those of caFile (a private CA such as step-ca or a test CA).
func acmeHTTPClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil // acme.Client's default
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--acme-ca-file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--acme-ca-file: %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}

// cacheDir is dir, or the user's cache directory's switchboard/tls; it is made
// (readable by its owner only) if missing.
func cacheDir(dir string) (string, error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("--tls-cache-dir is needed: %w", err)
		}
		dir = filepath.Join(base, "switchboard", "tls")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("--tls-cache-dir: %w", err)
	}
	return dir, nil
}
