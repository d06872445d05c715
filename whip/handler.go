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

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// Rooms is what the handler needs of the media core.
type Rooms interface {
	Join(room sfu.RoomID, name string, obs sfu.Observer) (*sfu.Participant, error)
	Watch(room sfu.RoomID, want sfu.ParticipantID, failed func()) (*sfu.Viewer, error)
}

// Authorizer decides whether a request may publish into or watch a room, given the
// Bearer token it carried ("" when none). It returns nil to allow; any error answers
// 401. A later version of the server checks join tokens here.
type Authorizer func(token string, room sfu.RoomID, publish bool) error

// Config configures a Handler. Rooms is required; the rest may be zero.
type Config struct {
	Rooms Rooms
	// ICEServers are announced to clients in Link headers.
	ICEServers []webrtc.ICEServer
	// Authorize, when set, is asked about every POST; nil lets everyone in.
	Authorize Authorizer
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
	resources map[string]resource
	restarts  map[string]int // ICE restarts per resource: part of its entity tag
	closed    bool
	ending    sync.WaitGroup // sessions ended in the background after a failure
}

// New returns a handler for cfg.
func New(cfg Config) *Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Handler{cfg: cfg, log: log.With("transport", "whip"), resources: map[string]resource{}, restarts: map[string]int{}}
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /whip/{room}", h.publish)
	mux.HandleFunc("POST /whep/{room}", h.watch)
	mux.HandleFunc("POST /whep/{room}/{participant}", h.watch)
	for _, kind := range []string{"whip", "whep"} {
		mux.HandleFunc("PATCH /"+kind+"/resource/{id}", h.patch)
		mux.HandleFunc("DELETE /"+kind+"/resource/{id}", h.delete)
		mux.HandleFunc("OPTIONS /"+kind+"/resource/{id}", h.options("OPTIONS, PATCH, DELETE"))
		mux.HandleFunc("OPTIONS /"+kind+"/{room}", h.options("OPTIONS, POST"))
	}
	mux.HandleFunc("OPTIONS /whep/{room}/{participant}", h.options("OPTIONS, POST"))
}

// Close ends every session and refuses new ones.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	all := h.resources
	h.resources = map[string]resource{}
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

// add registers r under a new id and returns its path, or fails once closed.
func (h *Handler) add(kind string, r resource) (string, bool) {
	id := r.ID()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return "", false
	}
	h.resources[id] = r
	return "/" + kind + "/resource/" + id, true
}

// take removes and returns the resource id, nil when there is none.
func (h *Handler) take(id string) resource {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.resources[id]
	delete(h.resources, id)
	delete(h.restarts, id)
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

func (h *Handler) get(id string) resource {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resources[id]
}

// endLater closes the resource id on a goroutine of its own: it is called from
// callbacks of the media core, which Close would wait for.
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
		if r := h.take(id); r != nil {
			h.log.Info("session failed", "resource", id)
			r.Close()
		}
	}()
}

// answerContext bounds waiting for ICE gathering by answerTimeout and the request.
func answerContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), answerTimeout)
}

var errShuttingDown = errors.New("server is shutting down")
