// Package sse carries the native signaling protocol over Server-Sent Events and HTTP
// POST, for clients that cannot keep a WebSocket open (some proxies, serverless front
// ends). The messages are the protocol's, unchanged: the server's arrive as events of
// one stream, the client's go up as one POST each.
//
// GET on the stream path opens a session; its first event (named "session") carries
// the session id and a secret. Every POST to <path>/<session id> must carry the secret
// as "Authorization: Bearer <secret>". Each event has an id; when the stream drops and
// the client reconnects with Last-Event-ID (as EventSource does) within the grace
// period, the session goes on and the events after that id are sent again, in order.
// See docs/sse.md.
package sse

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/origin"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/signal/resume"
)

// Defaults of Handler's settings.
const (
	DefaultGracePeriod = resume.DefaultGracePeriod
	DefaultKeepalive   = 15 * time.Second
	DefaultMaxDetached = resume.DefaultMaxPending
	writeTimeout       = 10 * time.Second
)

// Handler serves the SSE transport. Create it with New; mount it for GET at the
// stream path and for POST at <stream path>/{session}. Close ends every session.
type Handler struct {
	cfg      *signal.Config
	opts     Options
	log      *slog.Logger
	ctx      context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup // one per session's Run
	mu       sync.Mutex
	byID     map[string]*session
	detached *resume.Pending // sessions without a stream, waiting for a reconnection
}

// Options tune a Handler; the zero value uses the defaults.
type Options struct {
	// GracePeriod is how long a session waits for its stream to come back before its
	// participant leaves. Zero means DefaultGracePeriod.
	GracePeriod time.Duration
	// Keepalive is the interval of comments written on an idle stream, so that proxies
	// do not time it out. Zero means DefaultKeepalive.
	Keepalive time.Duration
	// MaxDetached caps the sessions waiting for their stream to come back; a stream
	// that drops beyond it ends its session at once. Zero means DefaultMaxDetached.
	MaxDetached int
	// Pending, when set, is the rule of waiting sessions shared with the server's
	// other resumable transports; it replaces GracePeriod and MaxDetached.
	Pending *resume.Pending
	// OriginPatterns are the hosts, other than the request's own, whose pages may
	// open streams and post (path.Match patterns); a request from a page of any other
	// origin gets 403. Requests without an Origin header (not from a browser) are
	// allowed. Empty means same-origin only.
	OriginPatterns []string
	// Logger receives transport logs; nil means slog.Default().
	Logger *slog.Logger
}

// New returns a handler whose sessions use cfg and end when ctx ends (nil: never).
func New(ctx context.Context, cfg *signal.Config, opts Options) *Handler {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = DefaultGracePeriod
	}
	if opts.Keepalive <= 0 {
		opts.Keepalive = DefaultKeepalive
	}
	if opts.MaxDetached <= 0 {
		opts.MaxDetached = DefaultMaxDetached
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	detached := opts.Pending
	if detached == nil {
		detached = resume.NewPending(opts.GracePeriod, opts.MaxDetached)
	}
	h := &Handler{cfg: cfg, opts: opts, log: log, byID: map[string]*session{}, detached: detached}
	h.ctx, h.stop = context.WithCancel(ctx)
	return h
}

// ServeHTTP opens or resumes a stream on GET and takes one message on POST.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := origin.Check(r, h.opts.OriginPatterns); err != nil {
		httpError(w, http.StatusForbidden, "forbidden-origin", err.Error())
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.serveStream(w, r)
	case http.MethodPost:
		h.servePost(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		httpError(w, http.StatusMethodNotAllowed, "method-not-allowed", "use GET for the stream and POST for messages")
	}
}

// Close ends every session (each participant leaves its room) and waits for them.
func (h *Handler) Close() {
	h.stop()
	h.wg.Wait()
}

// Len is the number of sessions, with or without a stream.
func (h *Handler) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byID)
}
