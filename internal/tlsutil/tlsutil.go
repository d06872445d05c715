// Package tlsutil gives the binary its HTTPS: a certificate from PEM files, from an
// ACME CA (Let's Encrypt by default, through autocert), or self-signed for a trial
// on a LAN; and the plain-HTTP handler that redirects to HTTPS (and answers ACME's
// http-01 challenges).
//
// It knows nothing of the server it protects: the binary wraps its listener with
// Setup.TLS and serves Setup.RedirectHandler on a second address.
package tlsutil

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
)

// DefaultACMEDirectory is the ACME directory used when Config.ACMEDirectory is
// empty: Let's Encrypt's production CA.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// Config says where the certificate comes from: exactly one of the PEM files
// (CertFile and KeyFile), ACME (Domains) or SelfSigned. The zero Config is no TLS
// (New returns nil).
type Config struct {
	CertFile, KeyFile string // a certificate chain and its key, PEM; read again when they change

	Domains       []string // ACME: the names to get certificates for
	ACMEDirectory string   // ACME directory URL; empty: DefaultACMEDirectory
	ACMEEmail     string   // contact address given to the CA (expiry notices); may be empty
	ACMECAFile    string   // PEM roots for the ACME server's own HTTPS; empty: the system's

	SelfSigned bool     // make (or reuse) a self-signed certificate
	ExtraIPs   []string // self-signed: addresses it covers besides the host's own (a public IP)

	// Logger tells of certificates that could not be had (ACME); nil: slog.Default().
	Logger *slog.Logger

	// CacheDir keeps what must survive a restart: ACME's account key and
	// certificates, the self-signed certificate. Empty: UserCacheDir/switchboard/tls.
	CacheDir string
}

// enabled reports whether c asks for TLS at all.
func (c Config) enabled() bool {
	return c.CertFile != "" || c.KeyFile != "" || len(c.Domains) > 0 || c.SelfSigned
}

// Setup is the TLS of a server, ready to serve.
type Setup struct {
	// TLS is the listener's configuration (certificates, ALPN for HTTP/2 and ACME).
	TLS *tls.Config
	// Host is the name browsers should use (the certificate's or ACME's first
	// name); empty when the certificate names an address only: use the listener's.
	Host string
	// Trust, for a self-signed certificate, says how to trust it; nil otherwise.
	Trust *Trust

	// challenges wraps the redirect with ACME's http-01 answers; nil without ACME.
	challenges func(http.Handler) http.Handler
}

// New builds the Setup that c describes; nil, nil when c asks for no TLS. The
// errors name the flag-like field at fault.
func New(c Config) (*Setup, error) {
	if !c.enabled() {
		return nil, nil
	}
	modes := 0
	for _, on := range []bool{c.CertFile != "" || c.KeyFile != "", len(c.Domains) > 0, c.SelfSigned} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return nil, errors.New("TLS: choose one of a certificate file (--tls-cert, --tls-key), ACME (--tls-domain) or --tls-self-signed")
	}
	switch {
	case c.SelfSigned:
		return selfSignedSetup(c)
	case len(c.Domains) > 0:
		return acmeSetup(c)
	}
	return fileSetup(c)
}

// baseConfig is what every mode shares: TLS 1.2 at least.
func baseConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

// RedirectHandler answers plain HTTP: every request is redirected (308, which
// keeps the method and body) to the same host and path over HTTPS on httpsPort,
// except ACME's http-01 challenges, which are answered. A request without a Host
// gets 400.
func (s *Setup) RedirectHandler(httpsPort int) http.Handler {
	h := redirect(httpsPort)
	if s.challenges != nil {
		h = s.challenges(h)
	}
	return h
}

func redirect(httpsPort int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "a Host header is needed to redirect to HTTPS", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "https://"+HostPort(host, httpsPort)+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// HostPort joins host and port for a https URL, leaving out the default port 443.
func HostPort(host string, port int) string {
	if port == 443 {
		if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// firstName is the first name of names that a browser can use as it is: not a
// wildcard.
func firstName(names []string) string {
	for _, n := range names {
		if n != "" && n[0] != '*' {
			return n
		}
	}
	return ""
}
