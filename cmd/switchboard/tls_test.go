package main

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
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	file string // the CA certificate, PEM
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Switchboard test CA " + t.Name()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, pool: x509.NewCertPool(), file: filepath.Join(t.TempDir(), "ca.pem")}
	ca.pool.AddCert(cert)
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue makes a server certificate for names (DNS names and IP addresses) and
// returns the files of its chain and key.
func (ca *testCA) issue(t *testing.T, names ...string) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der, ca.cert.Raw)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, file, typ string, ders ...[]byte) {
	t.Helper()
	var out []byte
	for _, der := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})...)
	}
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// httpsClient trusts roots only; it does not follow redirects unless follow.
func httpsClient(roots *x509.CertPool, follow bool) *http.Client {
	c := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		Timeout:   10 * time.Second,
	}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// get requests u with c and returns the response, its body read.
func get(t *testing.T, c *http.Client, method, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(body)
}

// portOf is the port of a URL like https://host:port/.
func portOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Port() == "" {
		t.Fatalf("%q: no port in the printed URL (%v)", rawURL, err)
	}
	return u.Port()
}

// TestTLSFiles: with --tls-cert and --tls-key the server serves HTTPS with that
// certificate, prints an https URL on the certificate's name, and the plain-HTTP
// address of --http-redirect-addr answers 308 to the same path over HTTPS.
func TestTLSFiles(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, "switchboard.test", "127.0.0.1")
	redirect := freeAddr(t)
	sp := startServe(t, "--tls-cert", cert, "--tls-key", key, "--http-redirect-addr", redirect)
	if !strings.HasPrefix(sp.url, "https://switchboard.test:") {
		t.Errorf("printed URL %q, want https://switchboard.test:<port>/ (the certificate's name)", sp.url)
	}
	base := "https://127.0.0.1:" + portOf(t, sp.url)

	trusting := httpsClient(ca.pool, false)
	resp, body := get(t, trusting, "GET", base+"/healthz")
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || len(resp.TLS.VerifiedChains) == 0 {
		t.Fatalf("GET /healthz over HTTPS: %d %q, TLS %v; want 200 over a verified connection", resp.StatusCode, body, resp.TLS != nil)
	}
	if got := resp.TLS.PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != "switchboard.test" {
		t.Errorf("served certificate names %v, want the one of --tls-cert", got)
	}
	if _, err := httpsClient(nil, false).Get(base + "/healthz"); err == nil {
		t.Errorf("a client without the test CA accepted the certificate")
	}

	for _, method := range []string{"GET", "POST"} {
		resp, _ := get(t, trusting, method, "http://"+redirect+"/room/a?name=b")
		want := base + "/room/a?name=b"
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
			t.Errorf("%s on the plain-HTTP address: %d to %q; want 308 to %q", method, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	resp, _ = get(t, httpsClient(ca.pool, true), "GET", "http://"+redirect+"/healthz")
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("following the redirect from plain HTTP: %d, TLS %v; want 200 over HTTPS", resp.StatusCode, resp.TLS != nil)
	}
}

// trustLines is what serve printed about a self-signed certificate.
type trustLines struct{ file, sha256, spki string }

var (
	fileLine   = regexp.MustCompile(`certificate file.*: (\S+)$`)
	sha256Line = regexp.MustCompile(`SHA-256 fingerprint.*: ([0-9A-F:]{95})$`)
	spkiLine   = regexp.MustCompile(`SPKI SHA-256, base64: (\S+) `)
)

// readTrust reads serve's lines after the URL until it has the certificate file,
// fingerprint and SPKI hash.
func readTrust(t *testing.T, sp *servedProcess) trustLines {
	t.Helper()
	var tl trustLines
	timeout := time.After(10 * time.Second)
	for tl.file == "" || tl.sha256 == "" || tl.spki == "" {
		select {
		case line := <-sp.lines:
			if m := fileLine.FindStringSubmatch(line); m != nil {
				tl.file = m[1]
			}
			if m := sha256Line.FindStringSubmatch(line); m != nil {
				tl.sha256 = m[1]
			}
			if m := spkiLine.FindStringSubmatch(line); m != nil {
				tl.spki = m[1]
			}
		case <-timeout:
			t.Fatalf("serve printed no certificate file, SHA-256 fingerprint and SPKI hash; got %+v", tl)
		}
	}
	return tl
}

// TestTLSSelfSigned: --tls-self-signed serves HTTPS with a certificate whose
// fingerprint and SPKI hash it prints, kept in a file that, trusted, verifies the
// connection; a restart with the same cache directory serves the same certificate.
func TestTLSSelfSigned(t *testing.T) {
	dir := t.TempDir()
	sp := startServe(t, "--tls-self-signed", "--tls-cache-dir", dir)
	if !strings.HasPrefix(sp.url, "https://127.0.0.1:") {
		t.Errorf("printed URL %q, want https://127.0.0.1:<port>/", sp.url)
	}
	printed := readTrust(t, sp)
	addr := "127.0.0.1:" + portOf(t, sp.url)

	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	_ = conn.Close()
	sum := sha256.Sum256(served.Raw)
	if want := strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum), " ", ":")); printed.sha256 != want {
		t.Errorf("printed fingerprint %s, the served certificate's is %s", printed.sha256, want)
	}
	spki := sha256.Sum256(served.RawSubjectPublicKeyInfo)
	if want := base64.StdEncoding.EncodeToString(spki[:]); printed.spki != want {
		t.Errorf("printed SPKI hash %s, the served certificate's is %s", printed.spki, want)
	}

	pemBytes, err := os.ReadFile(printed.file)
	if err != nil {
		t.Fatalf("the printed certificate file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no certificate", printed.file)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		tc := &tls.Config{RootCAs: pool, ServerName: host}
		conn, err := tls.Dial("tcp", addr, tc)
		if err != nil {
			t.Errorf("the certificate file, trusted, does not verify the server as %s: %v", host, err)
			continue
		}
		_ = conn.Close()
	}

	sp.stop()
	if err := sp.exited(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	again := readTrust(t, startServe(t, "--tls-self-signed", "--tls-cache-dir", dir))
	if again.sha256 != printed.sha256 {
		t.Errorf("after a restart the fingerprint is %s, was %s: the certificate should be kept", again.sha256, printed.sha256)
	}
}

// TestTLSFlagErrors: settings that cannot work are refused at start, with the flag
// at fault named.
func TestTLSFlagErrors(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, "127.0.0.1")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http-redirect-addr", "127.0.0.1:0"}, "--http-redirect-addr"},
		{[]string{"--tls-cert", cert}, "--tls-key"},
		{[]string{"--tls-cert", cert, "--tls-key", cert}, "--tls-cert"},
		{[]string{"--tls-cert", cert, "--tls-key", key, "--tls-self-signed"}, "choose one"},
		{[]string{"--tls-domain", "example.org", "--tls-self-signed"}, "choose one"},
		{[]string{"--tls-domain", "192.0.2.1"}, "--tls-domain"},
		{[]string{"--tls-domain", "*.example.org"}, "--tls-domain"},
		{[]string{"--tls-domain", "example.org", "--acme-directory", "http://ca.example/dir"}, "--acme-directory"},
		{[]string{"--tls-domain", "example.org", "--acme-ca-file", filepath.Join(t.TempDir(), "none.pem")}, "--acme-ca-file"},
	} {
		err := serve(t.Context(), append([]string{"--addr", "127.0.0.1:0", "--tls-cache-dir", t.TempDir()}, tc.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v; want an error naming %s", tc.args, err, tc.want)
		}
	}
}
