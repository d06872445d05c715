package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/server"
)

type serveFlags struct {
	addr           string
	iceLoopback    bool
	publicIPs      string
	udpPorts       string
	iceServers     string
	allowedOrigins string
	logLevel       string
	meshRooms      string
	meshMaxSize    int
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "HTTP `address` to listen on (port 0 picks a free port)")
	fs.BoolVar(&f.iceLoopback, "ice-loopback", false,
		"offer loopback ICE candidates, for local use and tests (on by itself when loopback is the only interface up)")
	fs.StringVar(&f.publicIPs, "public-ip", "",
		"comma-separated `addresses` to announce instead of the host's own (server behind a 1:1 NAT)")
	fs.StringVar(&f.udpPorts, "udp-ports", "", "UDP port `range` for media, e.g. 50000-50200 (default: any)")
	fs.StringVar(&f.iceServers, "ice-servers", "", "comma-separated STUN/TURN `urls` for clients and the server")
	fs.StringVar(&f.allowedOrigins, "allowed-origins", "",
		"comma-separated `hosts` besides the server's own whose pages may connect, e.g. app.example.com")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.meshRooms, "mesh-rooms", "",
		"comma-separated room name `patterns` (path.Match, e.g. 'p2p-*') of mesh rooms: peer-to-peer media, signaling through the server")
	fs.IntVar(&f.meshMaxSize, "mesh-max-size", 6, "most `peers` in one mesh room")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, log, err := f.config(stderr)
	if err != nil {
		return err
	}
	return listenAndServe(ctx, f.addr, cfg, log, stdout)
}

// config turns the flags into a server configuration.
func (f *serveFlags) config(stderr io.Writer) (server.Config, *slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return server.Config{}, nil, fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := server.Config{Logger: log, AllowedOrigins: splitList(f.allowedOrigins),
		MeshRooms: splitList(f.meshRooms), MeshMaxSize: f.meshMaxSize}
	if f.meshMaxSize < 2 {
		return cfg, nil, fmt.Errorf("--mesh-max-size: %d: a mesh room holds at least 2 peers", f.meshMaxSize)
	}
	cfg.Media.ICELoopback = f.iceLoopback || onlyLoopback()
	cfg.Media.PublicIPs = splitList(f.publicIPs)
	for _, ip := range cfg.Media.PublicIPs {
		if net.ParseIP(ip) == nil {
			return cfg, nil, fmt.Errorf("--public-ip: %q is not an IP address", ip)
		}
	}
	if f.udpPorts != "" {
		lo, hi, err := parsePortRange(f.udpPorts)
		if err != nil {
			return cfg, nil, fmt.Errorf("--udp-ports: %w", err)
		}
		cfg.Media.UDPPortMin, cfg.Media.UDPPortMax = lo, hi
	}
	if urls := splitList(f.iceServers); len(urls) > 0 {
		cfg.Media.ICEServers = []webrtc.ICEServer{{URLs: urls}}
		cfg.ClientICEServers = cfg.Media.ICEServers
	}
	return cfg, log, nil
}

// listenAndServe runs the server until ctx ends, then shuts it down.
func listenAndServe(ctx context.Context, addr string, cfg server.Config, log *slog.Logger, stdout io.Writer) error {
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	// SSE streams are ordinary requests that Shutdown would wait for: ending the
	// sessions ends them.
	hs.RegisterOnShutdown(func() { _ = srv.Close() })
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "Switchboard is running at %s\n", clientURL(ln.Addr()))
	if cfg.Media.ICELoopback {
		log.Info("offering loopback ICE candidates")
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = hs.Shutdown(sctx)
	}
	_ = srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// clientURL is where a browser on this machine finds the client.
func clientURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)) + "/"
}

// onlyLoopback reports whether no interface but loopback is up with an address:
// then only loopback candidates can connect anyone.
func onlyLoopback() bool {
	ifaces, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		if addrs, err := iface.Addrs(); err == nil && len(addrs) > 0 {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parsePortRange(s string) (lo, hi uint16, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	l, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	h, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if err := errors.Join(err1, err2); err != nil || l == 0 || l > h {
		return 0, 0, fmt.Errorf("%q is not a port range like 50000-50200", s)
	}
	return uint16(l), uint16(h), nil
}
