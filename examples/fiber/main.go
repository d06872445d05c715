// Command fiber shows Switchboard in a Fiber v3 application: Fiber serves native
// signaling over WebSocket with event-style handlers (open, message, close), each
// connection running a Switchboard session, and serves the browser client through
// Fiber's net/http adaptor.
//
//	cd examples/fiber && go run . -addr 127.0.0.1:8080
//
// The WebSocket upgrade uses github.com/fasthttp/websocket on Fiber's request
// context (the library that Fiber's contrib websocket module wraps). This example is
// a module of its own, so that Fiber and fasthttp are not dependencies of Switchboard.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"

	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
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
	if err := run(ctx, ln, *loopback, log); err != nil {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

// run serves the Fiber application on ln until ctx ends.
func run(ctx context.Context, ln net.Listener, loopback bool, log *slog.Logger) error {
	rtc, err := server.New(server.Config{Media: sfu.Config{ICELoopback: loopback}, Logger: log})
	if err != nil {
		return err
	}
	app := newApp(rtc, log)
	go func() {
		<-ctx.Done()
		_ = app.Shutdown()
	}()
	err = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	// Fiber's Shutdown does not wait for hijacked WebSocket connections; Close ends
	// every session and waits for it.
	_ = rtc.Close()
	return err
}

// newApp is the Fiber application: signaling at /ws, the browser client elsewhere.
func newApp(rtc *server.Server, log *slog.Logger) *fiber.App {
	app := fiber.New()
	app.Get("/ws", upgrade(rtc, &signaling{rtc: rtc, log: log}))
	app.Get("/healthz", func(c fiber.Ctx) error { return c.SendString("ok\n") })
	// The browser client's files; it connects to "ws" next to its page, served above.
	app.Get("/*", adaptor.HTTPHandler(rtc))
	return app
}
