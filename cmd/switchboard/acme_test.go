package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The ACME test runs Let's Encrypt's test CA, pebble (Debian package pebble), on
// loopback, with pebble-challtestsrv as its DNS server: every name resolves to
// 127.0.0.1.
const acmeTestDomain = "switchboard.test"

// freeUDPAddr is a loopback UDP address with a port free a moment ago.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// startProcess runs name with args until the test ends; its output goes to a file
// that is logged if the test fails.
func startProcess(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed (Debian package pebble: apt-get install pebble): %v", name, err)
	}
	logFile := filepath.Join(t.TempDir(), name+".log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("%s output:\n%s", name, b)
		}
	})
}

// pebble is a running test ACME CA.
type pebble struct {
	directory string // the ACME directory URL
	mgmt      string // base URL of its management interface
	client    *http.Client
}

// startPebbleAt runs pebble on listen, its HTTPS from ca, validating http-01 on
// httpPort and tls-alpn-01 on tlsPort of the addresses dns gives.
func startPebbleAt(t *testing.T, ca *testCA, listen, dns string, httpPort, tlsPort int) *pebble {
	t.Helper()
	cert, key := ca.issue(t, "127.0.0.1")
	mgmt := freeAddr(t)
	cfg, err := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": cert, "privateKey": key,
		"httpPort": httpPort, "tlsPort": tlsPort,
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "pebble.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	// No random sleep before validating, no nonce refused on purpose.
	startProcess(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"},
		"pebble", "-config", cfgFile, "-dnsserver", dns)
	p := &pebble{directory: "https://" + listen + "/dir", mgmt: "https://" + mgmt, client: httpsClient(ca.pool, false)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := p.client.Get(p.directory)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble's directory %s does not answer: %v", p.directory, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// roots are the roots pebble issues under (made anew at each start).
func (p *pebble) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, body := get(t, p.client, "GET", p.mgmt+"/roots/0")
	pool := x509.NewCertPool()
	if resp.StatusCode != http.StatusOK || !pool.AppendCertsFromPEM([]byte(body)) {
		t.Fatalf("pebble's root: %d %q", resp.StatusCode, body)
	}
	return pool
}

// TestACME: with --tls-domain the server gets its certificate from an ACME CA
// (pebble, over loopback) through autocert, proving the name with tls-alpn-01 on
// the HTTPS address or, when that cannot be reached, with http-01 on the
// --http-redirect-addr address; then serves HTTPS that verifies against the CA's
// root, and keeps the certificate in --tls-cache-dir.
func TestACME(t *testing.T) {
	dns := freeUDPAddr(t)
	startProcess(t, nil, "pebble-challtestsrv", "-dns01", dns, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", freeAddr(t), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	for _, challenge := range []string{"tls-alpn-01", "http-01"} {
		t.Run(challenge, func(t *testing.T) {
			ca := newTestCA(t)
			redirect, cacheDir := freeAddr(t), t.TempDir()
			closed, _ := strconv.Atoi(portOf(t, "http://"+freeAddr(t)))
			redirectPort, _ := strconv.Atoi(portOf(t, "http://"+redirect))
			// The directory's port is only known once pebble runs, after serve: serve
			// talks to it at the first handshake. So pebble listens where told.
			acmeListen := freeAddr(t)
			sp := startServe(t, "--tls-domain", acmeTestDomain, "--acme-directory", "https://"+acmeListen+"/dir",
				"--acme-ca-file", ca.file, "--tls-cache-dir", cacheDir, "--http-redirect-addr", redirect)
			if want := "https://" + acmeTestDomain + ":"; !strings.HasPrefix(sp.url, want) {
				t.Errorf("printed URL %q, want %s<port>/", sp.url, want)
			}
			httpsPort, _ := strconv.Atoi(portOf(t, sp.url))
			httpPort, tlsPort := closed, httpsPort
			if challenge == "http-01" {
				httpPort, tlsPort = redirectPort, closed
			}
			p := startPebbleAt(t, ca, acmeListen, dns, httpPort, tlsPort)

			tr := &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: p.roots(t)},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(httpsPort))
				},
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 90 * time.Second}
			resp, err := c.Get(sp.url + "healthz")
			if err != nil {
				t.Fatalf("GET %shealthz: %v", sp.url, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(resp.TLS.VerifiedChains) == 0 {
				t.Fatalf("GET /healthz: %d; want 200 over a connection verified by pebble's root", resp.StatusCode)
			}
			if _, err := os.Stat(filepath.Join(cacheDir, acmeTestDomain)); err != nil {
				t.Errorf("the certificate is not in --tls-cache-dir: %v", err)
			}
		})
	}
}
