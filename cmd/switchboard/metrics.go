package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// serveMetrics serves h, the server's metrics, at GET /metrics on addr until ctx
// ends. It has a listener of its own so that scraping can be kept off the public
// address (a private interface, or a firewall rule for the port alone).
func serveMetrics(ctx context.Context, addr string, h http.Handler) (net.Addr, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return serveSide(ctx, "--metrics-addr", addr, mux)
}

// serveSide serves mux on a listener of its own at addr until ctx ends: the side
// endpoints (metrics, profiles) that stay off the public address. flag names the
// setting in errors.
func serveSide(ctx context.Context, flag, addr string, mux *http.ServeMux) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	return ln.Addr(), nil
}
