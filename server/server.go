// Package server composes Switchboard into one http.Handler: signaling transports,
// the browser client and health checks over one set of rooms.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/auto"
	"github.com/switchboard-rtc/switchboard/cluster"
	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/internal/peraddr"
	"github.com/switchboard-rtc/switchboard/internal/reqid"
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/signal/resume"
	"github.com/switchboard-rtc/switchboard/signal/sse"
	"github.com/switchboard-rtc/switchboard/signal/ws"
	"github.com/switchboard-rtc/switchboard/turn"
	"github.com/switchboard-rtc/switchboard/web"
	"github.com/switchboard-rtc/switchboard/webhook"
	"github.com/switchboard-rtc/switchboard/whip"
)

// Config configures a Server. The zero value serves on every path with
// host candidates of this machine and no STUN or TURN servers.
type Config struct {
	// Media configures the peer connections (ICE candidates, ports).
	Media sfu.Config
	// ClientICEServers are the STUN/TURN servers handed to clients.
	ClientICEServers []webrtc.ICEServer
	// ClientICESecret, when set, is the shared secret of the TURN servers among
	// ClientICEServers that have no username: each client gets credentials of its
	// own for them, of the TURN REST API scheme (turn.Credentials; coturn's
	// use-auth-secret), valid for TURN.CredentialTTL [DefaultTURNCredentialTTL].
	ClientICESecret string
	// TURN, when set, runs the built-in TURN server, for clients whose network
	// blocks the media ports: see TURNConfig and docs/operations.md.
	TURN *TURNConfig
	// AllowedOrigins are the hosts, other than the server's own, whose pages may open
	// signaling connections (patterns as in path.Match, e.g. "*.example.com").
	AllowedOrigins []string
	// Rooms replaces the in-process room directory (a multi-node build) for native
	// sessions and sfu-ws clients; nil means rooms in this process. WHIP, WHEP and
	// the admin API use the server's own rooms.
	Rooms signal.Rooms
	// MeshRooms are path.Match patterns ("p2p-*") of room names that are mesh rooms
	// by configuration: a join that names no mode gets mesh there, and SFU joins
	// (WHIP publishers included) are refused. Other rooms get the mode of their
	// first joiner, SFU unless it asks for mesh.
	MeshRooms []string
	// MeshMaxSize bounds the peers of a mesh room. Zero means mesh.DefaultMaxSize (6).
	MeshMaxSize int
	// AutoRooms configures auto rooms: mesh while small, SFU once they grow (see
	// docs/protocol.md, "Auto rooms"). Auto rooms exist with the zero value too: a
	// client asks for one with "mode": "auto".
	AutoRooms AutoRooms
	// Directory replaces the in-process record of which room has which mode (a
	// multi-node build). Nil means one in this process, configured by MeshRooms.
	// The server's own SFU and mesh rooms claim their names from it; a Rooms
	// replacement must do the same for its SFU rooms, or a mesh room could share a
	// name with one of them. It counts the rooms against Limits.MaxRooms: a
	// replacement enforces a limit of its own, or none.
	Directory directory.Directory
	// Logger receives all logs; nil means slog.Default().
	Logger *slog.Logger
	// PathPrefix mounts the server under a path ("/rtc"): every route, the browser
	// client included, is served below it, and ServeHTTP strips it. Empty means "/".
	PathPrefix string
	// Authorize, when set, is asked about every request to an entry point: the
	// WebSocket, the SSE stream and its posts, sfu-ws compatibility, WHIP and WHEP
	// and their session resources, the token check and the admin API. A non-nil
	// error refuses the request with 401 and the error's text. The browser client,
	// health checks and CORS preflights are not asked.
	Authorize func(*http.Request) error
	// SSE tunes the Server-Sent Events transport (grace period, keepalive). Its
	// MaxDetached and OriginPatterns are set from Limits and AllowedOrigins.
	SSE sse.Options
	// APIKeys maps API keys to their secrets (at least 32 characters). When set,
	// every signaling endpoint (WebSocket, SSE stream, sfu-ws, WHIP, WHEP) needs a
	// join token signed with one of them, and the admin API at /v1/admin/ is served
	// to tokens with the admin grant. Empty: the server is open to anyone who can
	// reach it, and the admin API is disabled. See docs/auth.md.
	APIKeys map[string]string
	// Limits bound what clients may do; the zero value is the defaults. They replace
	// Media.Limits.
	Limits Limits
	// Liveness sets how fast a client that vanished is noticed; the zero value is the
	// defaults. Its ICE timeouts replace Media.Liveness.
	Liveness Liveness
	// Webhooks sends the rooms' events (started, finished, participant joined and
	// left, track published and unpublished) to Webhooks.URLs; none without URLs.
	// Unless Webhooks.Secret is set, they are signed with the secret of the API key
	// Webhooks.KeyID names (empty: the first of APIKeys in sorted order), and go
	// unsigned, with a warning, without API keys. Its Logger defaults to Logger.
	// See docs/operations.md.
	Webhooks webhook.Config
	// Cluster, when set, makes this server one node of a cluster sharing rooms
	// through Redis (docs/cluster.md): each room lives on one node, and a request
	// for a room of another node is forwarded there. Its Load, Rooms, OnConflict
	// and Draining are the server's own. Nil: a single node.
	Cluster *cluster.Config
}

// AutoRooms configures auto rooms; the zero value of each field means its default
// (in brackets). Their rooms are counted under Limits.MaxRooms once each; their
// participants under Limits.MaxParticipants, on their SFU side and on their mesh
// side alike.
type AutoRooms struct {
	// Patterns are path.Match patterns ("call-*") of room names that are auto rooms
	// by configuration: a join that names no mode gets auto there, and SFU and
	// mesh joins are refused (mode-mismatch). A name that matches MeshRooms too is
	// a mesh room.
	Patterns []string
	// PromoteAt [4]: a mesh auto room becomes an SFU room when it has this many
	// participants.
	PromoteAt int
	// DemoteAt [2] and DemoteAfter [30 s]: an SFU auto room becomes a mesh room
	// again once it has had at most DemoteAt native participants (and no WHIP,
	// WHEP or sfu-ws client) for DemoteAfter.
	DemoteAt    int
	DemoteAfter time.Duration
	// SwitchTimeout [15 s] ends a switch that some client has not completed.
	SwitchTimeout time.Duration
}

// Limits bound what clients may do. The zero value of each field means its default
// (in brackets); a negative count means no limit.
type Limits struct {
	// MaxMessageSize bounds one signaling message, in bytes [256 KiB]: a larger
	// WebSocket frame closes the connection (1009), a larger SSE POST gets 413.
	MaxMessageSize int
	// MessagesPerSecond [20] and MessageBurst [50] limit the messages of one
	// connection: beyond them a message is refused (rate-limited), and a client that
	// goes on at over twice the rate is disconnected. A negative rate means no limit.
	MessagesPerSecond float64
	MessageBurst      int
	// MaxRooms bounds the rooms of the server [1000], SFU and mesh rooms together; a
	// join that would create one more is refused (too-many-rooms). It is enforced by
	// the in-process directory: a Config.Directory replacement enforces its own.
	MaxRooms int
	// MaxParticipants bounds the participants of a room [200] (room-full); each
	// WHEP viewer of the room takes a place too.
	MaxParticipants int
	// MaxTracks bounds the tracks a participant publishes at a time [8]: a publisher
	// offer with more is refused (too-many-tracks).
	MaxTracks int
	// MaxViewers bounds the WHEP viewers of the whole server [1000]; a viewer
	// beyond it is refused with 503. Each viewer also takes a place of its room
	// under MaxParticipants.
	MaxViewers int
	// MaxAudioForward bounds the microphones forwarded in an SFU room of more than
	// sfu.AudioForwardAllUpTo (10) participants [3]: those of the loudest speakers;
	// negative forwards all.
	MaxAudioForward int
	// MaxPendingSSE bounds the sessions waiting for their client to come back [1024]:
	// SSE sessions whose stream dropped and resumable WebSocket sessions whose
	// connection did; a connection that drops beyond it ends its session at once.
	MaxPendingSSE int
	// SessionsPerAddress bounds the sessions one client address holds at a time
	// [1000]: signaling sessions (WebSocket, SSE streams, sfu-ws) and WHIP/WHEP
	// sessions. Beyond it a new one gets 503 (too-many-sessions) with Retry-After.
	// IPv6 addresses count by /64.
	SessionsPerAddress int
	// NewSessionsPerSecond [50] and NewSessionBurst [1000] bound how fast one client
	// address opens sessions; beyond them 429 (rate-limited) with Retry-After. The
	// defaults let an office of a few hundred people behind one NAT address join
	// at once, and a load test from loopback start a few hundred peers.
	NewSessionsPerSecond float64
	NewSessionBurst      int
}

// maxRooms is MaxRooms with its default applied, for directory.Config (where zero
// or negative is no limit).
func (l Limits) maxRooms() int {
	switch {
	case l.MaxRooms == 0:
		return sfu.DefaultMaxRooms
	case l.MaxRooms < 0:
		return 0
	}
	return l.MaxRooms
}

// tooManyRooms is the directory's refusal of a new SFU room for the room limit, that
// is also the media core's ErrTooManyRooms.
type tooManyRooms struct{ error }

func (e tooManyRooms) Unwrap() error        { return e.error }
func (e tooManyRooms) Is(target error) bool { return target == sfu.ErrTooManyRooms }

// Liveness sets how a client that vanished without a word is noticed: by WebSocket
// pings, and by its media connections going silent. The zero value of each field
// means its default.
type Liveness struct {
	// PingInterval [5 s] is how often WebSocket clients are pinged, and PongTimeout
	// [5 s] how long a ping waits for its pong before the client is taken for gone.
	PingInterval, PongTimeout time.Duration
	// JoinTimeout [30 s, signal.DefaultJoinTimeout] is how long a native signaling
	// session (WebSocket, SSE, RunSession) may stay without joining a room: then it
	// is told join-timeout and closed. Negative means no deadline. sfu-ws clients
	// join as they connect.
	JoinTimeout time.Duration
	// ICE timeouts of the media connections [4 s silent: disconnected; 5 s more:
	// failed; 10 s more without an ICE restart: the participant is removed; a check
	// every second].
	sfu.Liveness
}

// Server is Switchboard as an http.Handler. Create it with New; Close ends every
// session and waits for them.
type Server struct {
	mux      *http.ServeMux
	handler  http.Handler // mux, behind the path prefix
	engine   *sfu.Engine
	rooms    *sfu.Rooms
	mesh     *mesh.Rooms
	auto     *autoRooms // auto.go
	log      *slog.Logger
	sig      *signal.Config
	sse      *sse.Handler
	ws       *ws.Handler
	whip     *whip.Handler
	metrics  *metrics       // metrics.go
	verifier *auth.Verifier // nil without API keys

	// How clients reach the media (ice.go).
	ice       *iceServers
	publicIPs []string     // announced in the media's candidates
	turn      *turn.Server // nil without Config.TURN

	webhooks *webhook.Sender // nil without webhook URLs

	// Admission (admit.go).
	routes    []route
	origins   []string
	authorize func(*http.Request) error
	perAddr   *peraddr.Limiter
	drain     *drainState   // drain.go
	cluster   *cluster.Node // cluster.go; nil on a single node

	ctx      context.Context // ends every session on Close
	cancel   context.CancelFunc
	mu       sync.Mutex // guards closed and additions to sessions
	closed   bool
	sessions sync.WaitGroup
}

// New builds a server from cfg.
func New(cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg.Media.Logger = log
	// Rooms are counted once, SFU and mesh together, by the directory they claim
	// their names from; the media core counts none of its own.
	cfg.Media.Limits = sfu.Limits{MaxRooms: -1, MaxParticipants: cfg.Limits.MaxParticipants,
		MaxTracks: cfg.Limits.MaxTracks, MaxViewers: cfg.Limits.MaxViewers, MaxAudioForward: cfg.Limits.MaxAudioForward}
	cfg.Media.Liveness = cfg.Liveness.Liveness
	m := newMetrics()
	cfg.Media.Timings = m
	engine, err := sfu.NewEngine(cfg.Media)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	dir := cfg.Directory
	if dir == nil {
		local, err := directory.NewLocal(directory.Config{MeshRooms: cfg.MeshRooms, AutoRooms: cfg.AutoRooms.Patterns,
			MaxRooms: cfg.Limits.maxRooms()})
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		dir = local
	}
	s := &Server{mux: http.NewServeMux(), log: log, engine: engine, metrics: m, origins: cfg.AllowedOrigins, authorize: cfg.Authorize,
		perAddr: peraddr.New(peraddr.Config{MaxSessions: cfg.Limits.SessionsPerAddress,
			Rate: cfg.Limits.NewSessionsPerSecond, Burst: cfg.Limits.NewSessionBurst}), drain: newDrainState()}
	if s.webhooks, err = newWebhooks(cfg, log); err != nil {
		_ = engine.Close()
		return nil, err
	}
	var sfuHooks sfu.RoomEvents
	var meshHooks mesh.Events
	if s.webhooks != nil {
		sfuHooks, meshHooks = sfuEvents{s.webhooks}, meshEvents{s.webhooks}
	}
	s.rooms = sfu.NewRoomsWith(engine, sfu.RoomsOptions{Events: sfuHooks, Claim: func(id sfu.RoomID) (func(), error) {
		release, err := dir.Claim(string(id), directory.SFU)
		if errors.Is(err, directory.ErrTooManyRooms) {
			err = tooManyRooms{err} // for WHIP and sfu-ws, which know the media core's errors
		}
		return release, err
	}})
	s.mesh = mesh.NewRooms(mesh.Config{MaxSize: cfg.MeshMaxSize, Logger: log, Events: meshHooks, Claim: func(id mesh.RoomID) (func(), error) {
		return dir.Claim(string(id), directory.Mesh)
	}})
	var autoHooks auto.Events
	if s.webhooks != nil {
		autoHooks = autoEvents{s.webhooks}
	}
	if s.auto, err = newAutoRooms(cfg, engine, dir, autoHooks, log); err != nil {
		if s.webhooks != nil {
			s.webhooks.Close()
		}
		_ = engine.Close()
		return nil, err
	}
	if len(cfg.APIKeys) > 0 {
		if s.verifier, err = auth.NewVerifier(cfg.APIKeys); err != nil {
			if s.webhooks != nil {
				s.webhooks.Close()
			}
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if err := s.newCluster(cfg); err != nil {
		if s.webhooks != nil {
			s.webhooks.Close()
		}
		_ = engine.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	rooms := cfg.Rooms
	if rooms == nil {
		rooms = s.rooms
	}
	s.sig = &signal.Config{Rooms: rooms, Mesh: s.mesh, Auto: s.auto.rooms, DefaultMode: dir.DefaultMode, ICEServersFor: s.iceServersFor, Logger: log, Limits: signal.Limits{
		MaxMessageSize: cfg.Limits.MaxMessageSize, MessagesPerSecond: cfg.Limits.MessagesPerSecond,
		MessageBurst: cfg.Limits.MessageBurst,
	}}
	s.sig.JoinTimeout = cfg.Liveness.JoinTimeout
	s.sig.Drain = s.drain
	s.sig.ErrorSent = func(code string) { m.errorsSent.WithLabelValues(code).Inc() }
	m.reg.MustRegister(newMediaCollector(s))
	if s.webhooks != nil {
		m.reg.MustRegister(newWebhookCollector(s.webhooks))
	}
	if s.cluster != nil {
		m.reg.MustRegister(newClusterCollector(s.cluster))
	}
	sseOpts := cfg.SSE
	if sseOpts.Logger == nil {
		sseOpts.Logger = log
	}
	sseOpts.OriginPatterns = cfg.AllowedOrigins
	if cfg.Limits.MaxPendingSSE != 0 {
		sseOpts.MaxDetached = cfg.Limits.MaxPendingSSE
	}
	// One rule for the sessions of every transport that waits for its client.
	sseOpts.Pending = resume.NewPending(sseOpts.GracePeriod, sseOpts.MaxDetached)
	s.ws = &ws.Handler{Config: s.sig, OriginPatterns: cfg.AllowedOrigins, Context: s.ctx, Logger: log,
		PingInterval: cfg.Liveness.PingInterval, PongTimeout: cfg.Liveness.PongTimeout, Pending: sseOpts.Pending}
	s.sse = sse.New(s.ctx, s.sig, sseOpts)
	s.whip = whip.New(whip.Config{Rooms: s.auto.media(s.rooms), ICEServersFor: s.iceServersFor, Logger: log,
		OwnerTokens: s.verifier != nil})
	s.register(s.ws, s.compatHandler(cfg))
	s.handler = withPrefix(cfg.PathPrefix, s.mux)
	if err := s.startICE(cfg); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// register mounts every route, each behind admission (admit.go).
func (s *Server) register(wsHandler, compat http.Handler) {
	s.handle(route{pattern: "GET /ws", entry: joinRoom, room: queryRoom, origin: true, creates: true, stream: true,
		resumes: wsResumes}, s.track(s.metrics.countSessions("websocket", wsHandler)))
	s.handle(route{pattern: "GET /sse", entry: joinRoom, room: queryRoom, origin: true, creates: true, stream: true,
		resumes: sseResumes}, s.track(s.metrics.countSessions("sse", s.sse)))
	// The POSTs of an SSE session are bound to it by its secret, not by a token.
	// In a cluster, its ?room= finds the node of the session.
	s.handle(route{pattern: "POST /sse/{session}", entry: session, room: queryRoom, origin: true}, s.track(s.sse))
	s.handle(route{pattern: "GET /compat/sfu-ws", entry: joinRoom, room: compatRoom, origin: true, creates: true,
		stream: true}, s.track(s.metrics.countSessions("sfu-ws", compat)))
	for _, wr := range s.whip.Routes() {
		rt := route{pattern: wr.Pattern}
		switch wr.Kind {
		case whip.Publish:
			rt.entry, rt.room, rt.creates = publish, pathRoom, true
		case whip.Watch:
			rt.entry, rt.room, rt.creates = watch, pathRoom, true
		case whip.Resource:
			rt.entry, rt.room = resource, queryRoom // in a cluster, the Location's ?room=
		}
		s.handle(rt, wr.Handler)
	}
	s.handle(route{pattern: "GET /v1/connectivity", entry: probe, origin: true}, http.HandlerFunc(s.connectivity))
	s.handle(route{pattern: "POST /v1/connectivity/echo", entry: probe, origin: true, creates: true}, http.HandlerFunc(s.echo))
	s.handle(route{pattern: "GET /v1/token", entry: tokenInfo, room: queryRoom, origin: true}, http.HandlerFunc(s.tokenInfo))
	s.registerAdmin()
	s.handle(route{pattern: "GET /healthz"}, http.HandlerFunc(s.healthz))
	s.handle(route{pattern: "GET /readyz"}, http.HandlerFunc(s.readyz))
	s.handle(route{pattern: "GET /"}, clientHandler(web.Files()))
	s.handle(route{pattern: "GET /watch"}, clientPage(web.Files(), "watch.html"))
	s.handle(route{pattern: "GET /connectivity"}, clientPage(web.Files(), "connectivity.html"))
}

// ServeHTTP routes a request. Every request gets an id (reqid: the client's
// X-Request-ID when it is a sane token, else a new one), echoed in the response's
// X-Request-ID and carried by the log lines of the request and of the session it
// opens (request_id).
//
// A handler that panics is logged on the server's logger with its stack and counted
// (Panics), then the panic goes on as http.ErrAbortHandler: net/http would recover
// it anyway, but would log it its own way, uncounted, and a response cut short must
// still be aborted rather than look complete. Only that request's connection ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := reqid.Of(r)
	w.Header().Set(reqid.Header, id)
	r = r.WithContext(reqid.With(r.Context(), id))
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				_ = safe.Report(s.requestLog(r).With("method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr), "HTTP handler", v)
			}
			panic(http.ErrAbortHandler)
		}
	}()
	s.handler.ServeHTTP(w, r)
}

// requestLog is the server's logger with r's request id.
func (s *Server) requestLog(r *http.Request) *slog.Logger {
	return s.log.With(reqid.Attrs(r.Context())...)
}

// Rooms is the server's in-process room directory.
func (s *Server) Rooms() *sfu.Rooms { return s.rooms }

// OpenConnections is the number of the server's peer connections not yet closed.
func (s *Server) OpenConnections() int { return s.engine.OpenConnections() }

// AutoRooms is the server's set of auto rooms: their switches. Their SFU and mesh
// sides are rooms of their own, in neither Rooms nor MeshRooms.
func (s *Server) AutoRooms() *auto.Rooms { return s.auto.rooms }

// MeshRooms is the server's in-process set of mesh rooms.
func (s *Server) MeshRooms() *mesh.Rooms { return s.mesh }

// track counts long-lived requests so that Close can wait for them.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
			return
		}
		s.sessions.Add(1)
		s.mu.Unlock()
		defer s.sessions.Done()
		h.ServeHTTP(w, r)
	})
}

// Close refuses new participants, ends every session (each leaves its room), waits
// for them, gives the webhooks' queues up to Webhooks.DrainTimeout [5 s] to drain,
// and closes the shared media sockets. http.Server.Shutdown does not wait
// for upgraded connections; call Close after it. Sessions run with RunSession must
// have ended before Close: their media stops with the sockets.
func (s *Server) Close() error {
	if s.cluster != nil {
		_ = s.cluster.Close() // other nodes may take this node's rooms at once
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.rooms.Close()
	s.mesh.Close()
	s.auto.close()
	s.cancel()
	s.whip.Close()
	s.sessions.Wait()
	s.ws.Close()
	s.sse.Close()
	if s.webhooks != nil {
		s.webhooks.Close() // the rooms' last events are queued by now
	}
	if s.turn != nil {
		_ = s.turn.Close()
	}
	return s.engine.Close()
}

// UDPPort is the UDP port all media uses, 0 with a port per connection
// (sfu.Config.PortPerConnection).
func (s *Server) UDPPort() int { return s.engine.UDPPort() }

// ICETCPPort is the port of the ICE-TCP candidates, 0 without sfu.Config.ICETCP.
func (s *Server) ICETCPPort() int { return s.engine.ICETCPPort() }

// contentSecurityPolicy lets the client load and connect to nothing but this server.
const contentSecurityPolicy = "default-src 'self'; connect-src 'self'; media-src 'self' blob: mediastream:; " +
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// clientPage serves one page of the browser client at a path of its own.
func clientPage(files fs.FS, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setClientHeaders(w.Header())
		http.ServeFileFS(w, r, files, name)
	})
}

// setClientHeaders sets the security and caching headers of the client's files.
func setClientHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// clientHandler serves the browser client.
func clientHandler(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setClientHeaders(w.Header())
		fileServer.ServeHTTP(w, r)
	})
}

// Panics is how many panics in code serving one client (a session, a track, a
// connection's callbacks) have been stopped in this process, each ending only what
// it served. The count is process-wide: several servers in one process share it.
func (s *Server) Panics() int64 { return safe.Count() }
