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

	"github.com/switchboard-rtc/switchboard/server"
)

type serveFlags struct {
	addr           string
	iceLoopback    bool
	publicIPs      string
	udpPorts       string
	udpPort        uint
	portPerConn    bool
	pprof          string
	metricsAddr    string
	reach          reachFlags // reach.go
	allowedOrigins string
	logLevel       string
	logFormat      string
	apiKey         string
	apiSecret      string
	limits         server.Limits
	liveness       server.Liveness
	meshRooms      string
	meshMaxSize    int
	autoRooms      string
	auto           server.AutoRooms
	webhookURLs    urlList
	webhookKey     string
	drainTimeout   time.Duration
	tls            tlsFlags
	cluster        clusterFlags // cluster.go
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(fs) }
	var f serveFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "HTTP `address` to listen on (port 0 picks a free port)")
	fs.BoolVar(&f.iceLoopback, "ice-loopback", false,
		"offer loopback ICE candidates, for local use and tests (on by itself when loopback is the only interface up)")
	fs.StringVar(&f.publicIPs, "public-ip", "",
		"comma-separated `addresses` to announce instead of the host's own (server behind a 1:1 NAT)")
	fs.UintVar(&f.udpPort, "udp-port", 0,
		"the one UDP `port` that carries all media (one socket per local address); 0 picks a free port")
	fs.BoolVar(&f.portPerConn, "port-per-connection", false,
		"give every connection UDP ports of its own instead of the one --udp-port (slower: no batched sends)")
	fs.StringVar(&f.udpPorts, "udp-ports", "",
		"with a port per connection, the UDP port `range` to use, e.g. 50000-50200 (implies --port-per-connection)")
	fs.StringVar(&f.pprof, "pprof", "", "serve Go's profiler (net/http/pprof) on this loopback `address`, e.g. 127.0.0.1:6060")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "",
		"serve Prometheus metrics at /metrics on this `address`, e.g. 127.0.0.1:9090 (off when empty)")
	f.reach.declare(fs)
	fs.StringVar(&f.allowedOrigins, "allowed-origins", "",
		"comma-separated `hosts` besides the server's own whose pages may connect, e.g. app.example.com")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log `format`: text (key=value) or json (one object a line)")
	fs.StringVar(&f.apiKey, "api-key", "", "API `key`: with --api-secret, every client needs a join token (see switchboard token)")
	fs.StringVar(&f.apiSecret, "api-secret", "", "the API key's `secret`, at least 32 characters")
	f.limitFlags(fs)
	fs.StringVar(&f.meshRooms, "mesh-rooms", "",
		"comma-separated room name `patterns` (path.Match, e.g. 'p2p-*') of mesh rooms: peer-to-peer media, signaling through the server")
	fs.IntVar(&f.meshMaxSize, "mesh-max-size", server.DefaultMeshMaxSize, "most `peers` in one mesh room")
	f.autoFlags(fs)
	f.webhookFlags(fs)
	f.tls.declare(fs)
	fs.DurationVar(&f.drainTimeout, "drain-timeout", server.DefaultDrainTimeout,
		"on SIGTERM or SIGINT, how long calls may go on while new ones are refused (0: stop at once; a second signal stops at once)")
	f.cluster.declare(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, log, err := f.config(stderr)
	if err != nil {
		return err
	}
	tlsSetup, err := f.tls.setup(cfg.Media.PublicIPs, log)
	if err != nil {
		return err
	}
	web := webTLS{setup: tlsSetup, redirectAddr: f.tls.redirectAddr}
	f.reach.shareTLS(&cfg, tlsSetup)
	if f.pprof != "" {
		addr, err := servePprof(ctx, f.pprof)
		if err != nil {
			return err
		}
		log.Info("serving profiles", "addr", addr.String()+"/debug/pprof/")
	}
	if f.drainTimeout < 0 {
		return fmt.Errorf("--drain-timeout: %v is negative", f.drainTimeout)
	}
	return listenAndServe(ctx, f.addr, f.metricsAddr, web, cfg, log, stdout, f.drainTimeout)
}

// limitFlags declares the flags of the limits and liveness; zero means the server's
// default (shown), and a negative count no limit.
func (f *serveFlags) limitFlags(fs *flag.FlagSet) {
	l, v := &f.limits, &f.liveness
	fs.IntVar(&l.MaxMessageSize, "max-message-size", server.DefaultMaxMessageSize, "largest signaling message, in `bytes`")
	fs.Float64Var(&l.MessagesPerSecond, "messages-per-second", server.DefaultMessagesPerSecond,
		"`rate` of signaling messages per second one connection may keep up (beyond it: refused; over twice it: disconnected; negative: no limit)")
	fs.IntVar(&l.MessageBurst, "message-burst", server.DefaultMessageBurst, "signaling messages one connection may send at once beyond its rate")
	fs.IntVar(&l.MaxRooms, "max-rooms", server.DefaultMaxRooms, "rooms of the server, SFU and mesh together")
	fs.IntVar(&l.MaxParticipants, "max-participants", server.DefaultMaxParticipants, "participants of one room")
	fs.IntVar(&l.MaxTracks, "max-tracks", server.DefaultMaxTracks, "tracks one participant may publish at a time")
	fs.IntVar(&l.MaxViewers, "max-viewers", server.DefaultMaxViewers, "WHEP viewers of the whole server (each also takes a place of its room)")
	fs.IntVar(&l.MaxAudioForward, "max-audio-forward", server.DefaultMaxAudioForward,
		"microphones forwarded in an SFU room of more than 10 participants: the loudest speakers' (negative: all)")
	fs.IntVar(&l.MaxPendingSSE, "max-pending-sse", server.DefaultMaxPendingSSE, "sessions waiting for their client to come back (SSE streams and resumable WebSockets that dropped)")
	fs.IntVar(&l.SessionsPerAddress, "sessions-per-address", server.DefaultSessionsPerAddress,
		"sessions (signaling, WHIP, WHEP) one client address may hold at a time (negative: no limit)")
	fs.Float64Var(&l.NewSessionsPerSecond, "new-sessions-per-second", server.DefaultNewSessionsPerSecond,
		"`rate` at which one client address may open sessions beyond its burst (negative: no limit)")
	fs.IntVar(&l.NewSessionBurst, "new-session-burst", server.DefaultNewSessionBurst, "sessions one client address may open at once")
	fs.DurationVar(&v.PingInterval, "ws-ping-interval", server.DefaultPingInterval, "how often WebSocket clients are pinged")
	fs.DurationVar(&v.PongTimeout, "ws-pong-timeout", server.DefaultPongTimeout, "how long a ping waits for its pong before the client is dropped")
	fs.DurationVar(&v.JoinTimeout, "join-timeout", server.DefaultJoinTimeout,
		"how long a signaling connection may stay without joining a room before it is closed (join-timeout; negative: no deadline)")
	fs.DurationVar(&v.ICEDisconnectedTimeout, "ice-disconnected-timeout", server.DefaultICEDisconnectedTimeout,
		"silence after which a media connection is disconnected")
	fs.DurationVar(&v.ICEFailedTimeout, "ice-failed-timeout", server.DefaultICEFailedTimeout,
		"further silence after which it has failed")
	fs.DurationVar(&v.ICERestartGrace, "ice-restart-grace", server.DefaultICERestartGrace,
		"how long a failed media connection waits for its client to restart ICE before its participant is removed")
}

// autoFlags declares the flags of auto rooms.
func (f *serveFlags) autoFlags(fs *flag.FlagSet) {
	a := &f.auto
	fs.StringVar(&f.autoRooms, "auto-rooms", "",
		"comma-separated room name `patterns` (path.Match, e.g. 'call-*') of auto rooms: mesh while small, SFU once they grow")
	fs.IntVar(&a.PromoteAt, "mesh-promote-at", server.DefaultMeshPromoteAt,
		"an auto room becomes an SFU room when it has this many `participants`")
	fs.IntVar(&a.DemoteAt, "mesh-demote-at", server.DefaultMeshDemoteAt,
		"an auto room becomes a mesh room again when it is back to this many `participants` for --mesh-demote-after")
	fs.DurationVar(&a.DemoteAfter, "mesh-demote-after", server.DefaultMeshDemoteAfter,
		"how long an auto room stays small before it becomes a mesh room again")
	fs.DurationVar(&a.SwitchTimeout, "mesh-switch-timeout", server.DefaultMeshSwitchTimeout,
		"how long an auto room's switch waits for its slowest client")
}

// config turns the flags into a server configuration.
func (f *serveFlags) config(stderr io.Writer) (server.Config, *slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return server.Config{}, nil, fmt.Errorf("--log-level: %w", err)
	}
	log, err := newLogger(f.logFormat, stderr, level)
	if err != nil {
		return server.Config{}, nil, err
	}
	cfg := server.Config{Logger: log, AllowedOrigins: splitList(f.allowedOrigins), Limits: f.limits, Liveness: f.liveness,
		MeshRooms: splitList(f.meshRooms), MeshMaxSize: f.meshMaxSize, AutoRooms: f.auto}
	cfg.AutoRooms.Patterns = splitList(f.autoRooms)
	if f.meshMaxSize < 0 || f.meshMaxSize == 1 {
		return cfg, nil, fmt.Errorf("--mesh-max-size: %d: a mesh room holds at least 2 peers (0: the default, 6)", f.meshMaxSize)
	}
	f.webhookConfig(&cfg)
	if err := f.cluster.apply(&cfg); err != nil {
		return cfg, nil, err
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
	switch {
	case f.apiKey != "" && f.apiSecret != "":
		cfg.APIKeys = map[string]string{f.apiKey: f.apiSecret}
	case f.apiKey != "" || f.apiSecret != "":
		return cfg, nil, errors.New("--api-key and --api-secret go together")
	}
	if f.udpPort > 65535 {
		return cfg, nil, fmt.Errorf("--udp-port: %d is not a port", f.udpPort)
	}
	cfg.Media.UDPPort = uint16(f.udpPort)
	cfg.Media.PortPerConnection = f.portPerConn
	if cfg.Media.UDPPort != 0 && (f.portPerConn || f.udpPorts != "") {
		return cfg, nil, errors.New("--udp-port is the one shared port: it cannot be set with a port per connection")
	}
	if err := f.reach.apply(&cfg); err != nil {
		return cfg, nil, err
	}
	return cfg, log, nil
}

// newLogger is the server's logger: format is "text" or "json".
func newLogger(format string, w io.Writer, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is neither text nor json", format)
}

// listenAndServe runs the server until ctx ends, drains it for up to drainTimeout
// (cut short by hardStop(ctx)), then shuts it down. With metricsAddr, it serves the
// metrics there; web says whether addr serves HTTPS.
func listenAndServe(ctx context.Context, addr, metricsAddr string, web webTLS, cfg server.Config, log *slog.Logger,
	stdout io.Writer, drainTimeout time.Duration) error {
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		a, err := serveMetrics(ctx, metricsAddr, srv.Metrics())
		if err != nil {
			_ = srv.Close()
			return err
		}
		log.Info("serving metrics", "addr", "http://"+a.String()+"/metrics")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = srv.Close()
		return err
	}
	if err := advertise(srv, ln.Addr()); err != nil {
		_ = srv.Close()
		return err
	}
	hs := server.NewHTTPServer("", srv, server.HTTPOptions{})
	// SSE streams are ordinary requests that Shutdown would wait for: ending the
	// sessions ends them.
	hs.RegisterOnShutdown(func() { _ = srv.Close() })
	if err := web.startRedirect(ctx, log, ln.Addr()); err != nil {
		_ = ln.Close()
		_ = srv.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- web.serve(hs, ln) }()
	fmt.Fprintf(stdout, "Switchboard is running at %s\n", web.clientURL(ln.Addr()))
	web.printTrust(stdout, ln.Addr())
	if cfg.Media.ICELoopback {
		log.Info("offering loopback ICE candidates")
	}
	warnIfOpen(log, ln.Addr(), len(cfg.APIKeys) > 0)
	if port := srv.UDPPort(); port != 0 {
		log.Info("media on one UDP port", "port", port)
	}
	logReach(log, srv)
	select {
	case err = <-errc:
	case <-ctx.Done():
		if drain(srv, drainTimeout, hardStop(ctx)) {
			log.Info("stopping at once")
			_ = srv.Close()
			err = hs.Close()
			break
		}
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

// drain drains srv for up to timeout, or until now is closed; it reports whether
// it was (a second signal: stop at once).
func drain(srv *server.Server, timeout time.Duration, now <-chan struct{}) (stopNow bool) {
	if timeout <= 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-now:
			cancel()
		case <-ctx.Done():
		}
	}()
	_ = srv.Drain(ctx)
	select {
	case <-now:
		return true
	default:
		return false
	}
}

// warnIfOpen warns, loudly, when the server listens beyond loopback without API keys:
// anyone who reaches it can then join any room and publish.
func warnIfOpen(log *slog.Logger, a net.Addr, keyed bool) {
	tcp, ok := a.(*net.TCPAddr)
	if keyed || !ok || tcp.IP.IsLoopback() {
		return
	}
	log.Warn("!!! NO AUTHENTICATION: listening on a non-loopback address without an API key; " +
		"anyone who can reach " + a.String() + " can join any room and publish. " +
		"Set --api-key and --api-secret (SWITCHBOARD_API_KEY, SWITCHBOARD_API_SECRET) to require join tokens.")
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
