// Command nethttp shows Switchboard embedded in an existing net/http application:
// the server is mounted under /rtc/ in the application's own http.ServeMux, next to its
// other routes, with its logger and an authorization hook.
//
//	go run ./examples/nethttp -addr 127.0.0.1:8080 -token secret
//
// Then open http://127.0.0.1:8080/rtc/?token=secret ... the browser client is served
// below the prefix and connects to /rtc/ws (or /rtc/sse with ?transport=sse).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"

	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	token := flag.String("token", "", "when set, signaling requests must carry ?token=<this>")
	loopback := flag.Bool("loopback", true, "offer loopback ICE candidates (local use)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	fmt.Printf("listening on http://%s/\n", ln.Addr())
	if err := run(ctx, ln, *token, *loopback, log); err != nil {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

// run serves the application on ln until ctx ends.
func run(ctx context.Context, ln net.Listener, token string, loopback bool, log *slog.Logger) error {
	mux, rtc, err := newMux(token, loopback, log)
	if err != nil {
		return err
	}
	// Switchboard's timeouts and header limit, its signaling streams exempted.
	hs := server.NewHTTPServer("", mux, server.HTTPOptions{})
	// SSE streams are ordinary requests that Shutdown would wait for: ending the
	// sessions ends them.
	hs.RegisterOnShutdown(func() { _ = rtc.Close() })
	go func() {
		<-ctx.Done()
		_ = hs.Shutdown(context.Background())
	}()
	err = hs.Serve(ln)
	_ = rtc.Close() // Shutdown does not wait for WebSocket sessions: Close does
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// newMux is the application's router: its own pages, and Switchboard under /rtc/.
func newMux(token string, loopback bool, log *slog.Logger) (*http.ServeMux, *server.Server, error) {
	rtc, err := server.New(server.Config{
		Media:      sfu.Config{ICELoopback: loopback},
		PathPrefix: "/rtc",
		Logger:     log.With("component", "switchboard"),
		Authorize:  tokenCheck(token),
	})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "the application's own page; video rooms are at /rtc/")
	})
	mux.Handle("/rtc/", rtc)
	return mux, rtc, nil
}

// tokenCheck is a stand-in for the application's own authentication (a session
// cookie, say): with a token set, signaling requests must carry it.
func tokenCheck(token string) func(*http.Request) error {
	if token == "" {
		return nil
	}
	return func(r *http.Request) error {
		if r.URL.Query().Get("token") != token {
			return errors.New("missing or wrong token")
		}
		return nil
	}
}
