package server

import (
	"net/http"
	"time"
)

// Defaults of HTTPOptions: the bounds of the http.Server that serves Switchboard.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included, so that a
	// client trickling its body cannot hold a connection.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds a request from the end of its headers to the end of
	// its response. WHIP and WHEP POSTs wait up to 10 s for ICE gathering before they
	// answer: it leaves them room.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout bounds how long a keep-alive connection waits for its next
	// request.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes bounds a request's headers, request line included
	// (net/http adds a few KiB of slack): join tokens and cookies fit many times over.
	// Larger headers get 431.
	DefaultMaxHeaderBytes = 64 << 10
)

// HTTPOptions bound the connections of the http.Server made by NewHTTPServer. The
// zero value of each field means its default (the Default constants above). The
// signaling streams (GET /ws, GET /sse, GET /compat/sfu-ws) are exempt from the read
// and write timeouts: they live as long as their session, watched by pings and
// keepalives of their own.
type HTTPOptions struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
}

// NewHTTPServer is an http.Server for h on addr, bounded by o: the settings the
// switchboard binary serves with, for embedders to serve with too (h may be an
// application's own mux with a Server mounted in it).
func NewHTTPServer(addr string, h http.Handler, o HTTPOptions) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: orDefault(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDefault(o.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDefault(o.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    orDefault(o.MaxHeaderBytes, DefaultMaxHeaderBytes),
	}
}

// longLived exempts a signaling stream from the server's read and write timeouts:
// it clears the deadlines http.Server set when the request came. The streams bound
// themselves (WebSocket pings, a deadline per SSE write). net/http lifts them too in
// the common cases (a hijack clears both; HTTP/1.1 clears the read deadline once the
// body is read), but that is its detail: this is the contract. Where the
// ResponseWriter cannot set deadlines (a framework's adapter), the error is ignored
// and that server's own timeouts apply.
func longLived(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		h.ServeHTTP(w, r)
	})
}

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
