package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/switchboard-rtc/switchboard/internal/tlsutil"
)

// tlsFlags are the settings of HTTPS (see internal/tlsutil).
type tlsFlags struct {
	cert, key     string
	domains       string
	acmeDirectory string
	acmeEmail     string
	acmeCAFile    string
	selfSigned    bool
	cacheDir      string
	redirectAddr  string
}

func (f *tlsFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with this certificate chain (PEM `file`; with --tls-key), read again when it changes")
	fs.StringVar(&f.key, "tls-key", "", "the certificate's private key (PEM `file`)")
	fs.StringVar(&f.domains, "tls-domain", "",
		"serve HTTPS with certificates from an ACME CA (Let's Encrypt by default) for these comma-separated `names`")
	fs.StringVar(&f.acmeDirectory, "acme-directory", tlsutil.DefaultACMEDirectory, "the ACME CA's directory `URL`")
	fs.StringVar(&f.acmeEmail, "acme-email", "", "contact `address` given to the ACME CA (expiry and policy notices)")
	fs.StringVar(&f.acmeCAFile, "acme-ca-file", "",
		"PEM `file` of the roots the ACME server's own HTTPS is checked against (a private ACME CA); default: the system's")
	fs.BoolVar(&f.selfSigned, "tls-self-signed", false,
		"serve HTTPS with a self-signed certificate for this host's names and addresses (a trial on a LAN); prints how to trust it")
	fs.StringVar(&f.cacheDir, "tls-cache-dir", "",
		"`directory` kept across restarts for ACME's account and certificates and the self-signed certificate (default: the user's cache directory)")
	fs.StringVar(&f.redirectAddr, "http-redirect-addr", "",
		"with HTTPS, serve plain HTTP on this `address` (e.g. :80) redirecting to HTTPS; it also answers ACME's http-01 challenges")
}

// setup builds the TLS the flags ask for; nil when they ask for none. publicIPs are
// also covered by a self-signed certificate.
func (f *tlsFlags) setup(publicIPs []string, log *slog.Logger) (*tlsutil.Setup, error) {
	s, err := tlsutil.New(tlsutil.Config{
		CertFile: f.cert, KeyFile: f.key,
		Domains: splitList(f.domains), ACMEDirectory: f.acmeDirectory, ACMEEmail: f.acmeEmail, ACMECAFile: f.acmeCAFile,
		SelfSigned: f.selfSigned, ExtraIPs: publicIPs,
		CacheDir: f.cacheDir, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if s == nil && f.redirectAddr != "" {
		return nil, fmt.Errorf("--http-redirect-addr redirects to HTTPS: it needs --tls-cert, --tls-domain or --tls-self-signed")
	}
	return s, nil
}

// webTLS is how the binary serves its web address: plain HTTP when setup is nil.
type webTLS struct {
	setup        *tlsutil.Setup
	redirectAddr string
}

// serve serves hs on ln, over TLS when there is a setup.
func (w webTLS) serve(hs *http.Server, ln net.Listener) error {
	if w.setup == nil {
		return hs.Serve(ln)
	}
	hs.TLSConfig = w.setup.TLS
	return hs.ServeTLS(ln, "", "")
}

// startRedirect serves the plain-HTTP redirect to web, the HTTPS address, until ctx
// ends; nothing without --http-redirect-addr.
func (w webTLS) startRedirect(ctx context.Context, log *slog.Logger, web net.Addr) error {
	if w.setup == nil || w.redirectAddr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/", w.setup.RedirectHandler(tcpPort(web)))
	a, err := serveSide(ctx, "--http-redirect-addr", w.redirectAddr, mux)
	if err != nil {
		return err
	}
	log.Info("redirecting plain HTTP to HTTPS", "addr", a.String())
	return nil
}

// clientURL is where a browser finds the client served on a.
func (w webTLS) clientURL(a net.Addr) string {
	if w.setup == nil {
		return clientURL(a)
	}
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "https://" + a.String() + "/"
	}
	host := w.setup.Host
	if host == "" {
		host = "127.0.0.1"
		if !tcp.IP.IsUnspecified() {
			host = tcp.IP.String()
		}
	}
	return "https://" + tlsutil.HostPort(host, tcp.Port) + "/"
}

// printTrust says, for a self-signed certificate, how to trust it.
func (w webTLS) printTrust(out io.Writer, web net.Addr) {
	if w.setup == nil || w.setup.Trust == nil {
		return
	}
	t := w.setup.Trust
	fmt.Fprintf(out, "HTTPS with a self-signed certificate; browsers warn until it is trusted.\n")
	fmt.Fprintf(out, "  certificate file (import it as trusted): %s\n", t.CertFile)
	fmt.Fprintf(out, "  SHA-256 fingerprint (compare it with the browser's): %s\n", t.SHA256)
	fmt.Fprintf(out, "  SPKI SHA-256, base64: %s (Chromium: --ignore-certificate-errors-spki-list=%s)\n", t.SPKI, t.SPKI)
	fmt.Fprintf(out, "  it covers these names and addresses, on port %d: %s\n", tcpPort(web), strings.Join(t.Names, ", "))
}

// tcpPort is a's port; 0 when a is not TCP.
func tcpPort(a net.Addr) int {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.Port
	}
	return 0
}
