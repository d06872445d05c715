// Package origin decides whether a browser page may open a signaling connection, by
// its Origin header: the rule of the WebSocket transports (coder/websocket's
// AcceptOptions.OriginPatterns), for the transports that are plain HTTP.
package origin

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Check allows r when it has no Origin header (not a browser: a browser always sends
// one on cross-origin requests, and on WebSocket and POST requests), when the
// Origin's host is the request's own Host, or when it matches one of patterns
// (path.Match patterns, e.g. "*.example.com", compared without case). It returns why
// it refuses.
func Check(r *http.Request, patterns []string) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return fmt.Errorf("origin %.64q is not a URL with a host", o)
	}
	host := strings.ToLower(u.Host)
	if host == strings.ToLower(r.Host) {
		return nil
	}
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), host); ok {
			return nil
		}
	}
	return fmt.Errorf("pages of %.64q may not connect to this server", o)
}
