package tlsutil

import (
	"bytes"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRedirect: plain HTTP is sent to the same host and path over HTTPS on the
// server's port (left out when 443), IPv6 literals bracketed; without a Host there is
// nowhere to send it.
func TestRedirect(t *testing.T) {
	for _, tc := range []struct {
		host   string
		port   int
		target string
		want   string
	}{
		{"meet.example.org", 443, "/room?x=1", "https://meet.example.org/room?x=1"},
		{"meet.example.org:80", 8443, "/", "https://meet.example.org:8443/"},
		{"127.0.0.1:8080", 8443, "/a/b", "https://127.0.0.1:8443/a/b"},
		{"[::1]:80", 443, "/", "https://[::1]/"},
		{"[::1]:80", 8443, "/", "https://[::1]:8443/"},
	} {
		for _, method := range []string{"GET", "POST"} {
			r := httptest.NewRequest(method, tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			(&Setup{}).RedirectHandler(tc.port).ServeHTTP(w, r)
			if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != tc.want {
				t.Errorf("%s %s%s to port %d: %d %q, want 308 %q", method, tc.host, tc.target, tc.port, w.Code, w.Header().Get("Location"), tc.want)
			}
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = ""
	w := httptest.NewRecorder()
	(&Setup{}).RedirectHandler(443).ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("no Host: %d, want 400", w.Code)
	}
}

// TestACMEFailuresLogged: a handshake for a configured domain that gets no
// certificate is logged with the CA's error; one for another name is not.
func TestACMEFailuresLogged(t *testing.T) {
	var out bytes.Buffer
	failing := func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("urn:ietf:params:acme:error:connection")
	}
	get := logFailures(failing, []string{"meet.example.org"}, slog.New(slog.NewTextHandler(&out, nil)))
	for _, name := range []string{"scanner.example", "", "MEET.example.org."} {
		if _, err := get(&tls.ClientHelloInfo{ServerName: name}); err == nil {
			t.Errorf("%q: the error was swallowed", name)
		}
	}
	if got := strings.Count(out.String(), "level=WARN"); got != 1 ||
		!strings.Contains(out.String(), "domain=meet.example.org") || !strings.Contains(out.String(), "acme:error:connection") {
		t.Errorf("logged %q; want one warning naming meet.example.org and the error", out.String())
	}
}
