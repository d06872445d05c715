package whip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/internal/reqid"
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// Rooms is what the handler needs of the media core.
type Rooms interface {
	JoinWith(room sfu.RoomID, name string, obs sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error)
	Watch(room sfu.RoomID, want sfu.ParticipantID, failed func()) (*sfu.Viewer, error)
}

// Config configures a Handler. Rooms is required; the rest may be zero.
type Config struct {
	Rooms Rooms
	// ICEServers are announced to admitted clients in Link headers of the 201
	// answer; OPTIONS, which anyone may send, announces only those without
	// credentials.
	ICEServers []webrtc.ICEServer
	// ICEServersFor, when set, replaces ICEServers: it is asked for the servers of
	// each admitted client, with who it is (its token's identity, else its session's
	// resource id), for credentials of its own; OPTIONS gets those without
	// credentials, asked with who "".
	ICEServersFor func(who string) []webrtc.ICEServer
	// OwnerTokens, when set, makes every request to a session's resource (PATCH,
	// DELETE) prove it comes from the session's owner: its request context must
	// carry (signal.WithAccess) the identity and a room of the token that created
	// the session; others get 403. Without it the unguessable resource URL is the
	// only credential. The server sets it when it requires join tokens.
	OwnerTokens bool
	// Logger receives the handler's logs; nil means slog.Default().
	Logger *slog.Logger
}

// answerTimeout bounds how long a POST waits for the server's ICE candidates; on
// loopback and host interfaces gathering takes milliseconds.
const answerTimeout = 10 * time.Second

// Handler serves WHIP and WHEP. Create it with New, mount it with Register, and Close
// it to end every session it started.
type Handler struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	resources map[string]*session
	restarts  map[string]int                // ICE restarts per resource: part of its entity tag
	patches   map[string]*ratelimit.Limiter // PATCH rate per resource, from its first
	closed    bool
	ending    sync.WaitGroup // sessions ended in the background after a failure
}

// New returns a handler for cfg.
func New(cfg Config) *Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Handler{cfg: cfg, log: log.With("transport", "whip"), resources: map[string]*session{}, restarts: map[string]int{},
		patches: map[string]*ratelimit.Limiter{}}
}

// RouteKind says what a route does, for the admission in front of it.
type RouteKind int

const (
	// Publish opens a WHIP session in the room of the path: a publisher.
	Publish RouteKind = iota
	// Watch opens a WHEP session in the room of the path: a viewer.
	Watch
	// Resource acts on an existing session (PATCH, DELETE).
	Resource
	// Preflight answers OPTIONS: CORS preflights, which carry no credentials.
	Preflight
)

// Route is one endpoint of the handler.
type Route struct {
	Pattern string // for http.ServeMux, with the method
	Kind    RouteKind
	Handler http.Handler
}

// Routes are the handler's endpoints. Mount each behind the server's admission: the
// handler checks no tokens itself, but reads what admission allowed from the
// request's context (signal.AccessFrom) and keeps a session's slot of the client's
// per-address limit (peraddr.Keep) until the session ends.
func (h *Handler) Routes() []Route {
	rs := []Route{
		{"POST /whip/{room}", Publish, http.HandlerFunc(h.publish)},
		{"POST /whep/{room}", Watch, http.HandlerFunc(h.watch)},
		{"POST /whep/{room}/{participant}", Watch, http.HandlerFunc(h.watch)},
		{"OPTIONS /whep/{room}/{participant}", Preflight, h.options("OPTIONS, POST")},
	}
	for _, kind := range []string{"whip", "whep"} {
		rs = append(rs,
			Route{"PATCH /" + kind + "/resource/{id}", Resource, http.HandlerFunc(h.patch)},
			Route{"DELETE /" + kind + "/resource/{id}", Resource, http.HandlerFunc(h.delete)},
			Route{"OPTIONS /" + kind + "/resource/{id}", Preflight, h.options("OPTIONS, PATCH, DELETE")},
			Route{"OPTIONS /" + kind + "/{room}", Preflight, h.options("OPTIONS, POST")})
	}
	return rs
}

// Register mounts the endpoints on mux as they are, with no admission: for a
// handler whose clients are all trusted (tests, a private network).
func (h *Handler) Register(mux *http.ServeMux) {
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
}

// session is a registered WHIP or WHEP session: its resource, who opened it, and
// its slot of the per-address limit.
type session struct {
	resource
	kind    string
	room    sfu.RoomID
	owner   signal.Access
	release func()
	// attrs name the session's participant or viewer in log lines; openedBy is the
	// request id of its POST. Both set before it is registered.
	attrs    []any
	openedBy string
}

// logFor is the handler's logger for a request r about session s, the resource id:
// its lines carry r's request id, or, for lines of no request (r nil), the id of the
// POST that opened the session.
func (h *Handler) logFor(r *http.Request, id string, s *session) *slog.Logger {
	log := h.log.With("kind", s.kind, "room", s.room, "resource", id).With(s.attrs...)
	req := s.openedBy
	if r != nil {
		req = reqid.From(r.Context())
	}
	if req != "" {
		log = log.With(reqid.Key, req)
	}
	return log
}

// Close ends the session and frees its slot.
func (s *session) Close() {
	s.resource.Close()
	s.release()
}

// Close ends every session and refuses new ones.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	all := h.resources
	h.resources = map[string]*session{}
	h.patches = map[string]*ratelimit.Limiter{}
	h.mu.Unlock()
	for _, r := range all {
		r.Close()
	}
	h.ending.Wait()
}

// Sessions is how many WHIP and WHEP sessions are open.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.resources)
}

// add registers s under a new id and returns the id, or fails once closed. The id
// is random, and derived from nothing shown to others (a publisher's participant id
// is): knowing it is what lets a client act on the session when tokens are off.
func (h *Handler) add(s *session) (string, bool) {
	id := randomHex(16)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return "", false
	}
	h.resources[id] = s
	return id, true
}

// take removes and returns the session id, nil when there is none.
func (h *Handler) take(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.resources[id]
	delete(h.resources, id)
	delete(h.restarts, id)
	delete(h.patches, id)
	return r
}

// etag is the entity tag of the resource id: it changes with each ICE restart, as
// RFC 9725 section 4.3.1 asks.
func (h *Handler) etag(id string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf(`"%s.%d"`, id, h.restarts[id])
}

// restarted counts an ICE restart of id and returns the new entity tag.
func (h *Handler) restarted(id string) string {
	h.mu.Lock()
	h.restarts[id]++
	h.mu.Unlock()
	return h.etag(id)
}

func (h *Handler) get(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resources[id]
}

// endLater closes the resource id on a goroutine of its own: it is called from
// callbacks of the media core (a connection failed, an administrator removed the
// session), which Close would wait for.
func (h *Handler) endLater(id string) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.ending.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.ending.Done()
		defer safe.Recover(h.log.With("resource", id), "WHIP resource close", nil)
		if s := h.take(id); s != nil {
			h.logFor(nil, id, s).Info("session ended by the server: connection failed or removed")
			s.Close()
		}
	}()
}

// answerContext bounds waiting for ICE gathering by answerTimeout and the request.
func answerContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), answerTimeout)
}

var errShuttingDown = errors.New("server is shutting down")
