// Package peraddr bounds what one client address may open: sessions at a time, and
// new sessions per second. The server asks it before any request that creates state
// (a signaling session, a WHIP or WHEP session) does anything else.
//
// An address is the client's IP as the server sees it; IPv6 clients are grouped by
// their /64 prefix, since one host commonly holds a whole /64. Behind a reverse proxy
// every client has the proxy's address: raise the limits there, or let the proxy
// limit (docs/security.md).
package peraddr

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
)

// Defaults of Config. They are sized so that an office of a few hundred people behind
// one NAT address, each with a signaling session and a WHEP viewer, all joining in
// the same second, and a load test of a few hundred peers from loopback, stay within
// them: the burst is the whole session count, and the rate refills it in 20 s.
const (
	DefaultMaxSessions  = 1000
	DefaultRate         = 50 // new sessions per second
	DefaultBurst        = DefaultMaxSessions
	DefaultMaxAddresses = 100_000
)

// Config bounds each address. The zero value of each field means its default; a
// negative value means no limit.
type Config struct {
	// MaxSessions bounds the sessions one address holds at a time.
	MaxSessions int
	// Rate and Burst bound how fast one address opens sessions: Burst at once, then
	// Rate per second.
	Rate  float64
	Burst int
	// MaxAddresses bounds the addresses tracked at once, so that a client cycling
	// through addresses cannot grow the table: beyond it new addresses are refused
	// until others' sessions end and their buckets refill.
	MaxAddresses int
}

func (c Config) withDefaults() Config {
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxAddresses <= 0 {
		c.MaxAddresses = DefaultMaxAddresses
	}
	return c
}

// Errors of Acquire.
var (
	// ErrTooFast: the address opens sessions faster than its rate; retry later.
	ErrTooFast = errors.New("too many new sessions from this address; retry later")
	// ErrTooMany: the address holds as many sessions as it may.
	ErrTooMany = errors.New("too many sessions from this address")
	// ErrBusy: the server tracks as many addresses as it may.
	ErrBusy = errors.New("too many clients; retry later")
)

// Limiter tracks the addresses that hold sessions or have opened some recently. Safe
// for concurrent use.
type Limiter struct {
	cfg Config
	now func() time.Time

	mu    sync.Mutex
	addrs map[netip.Prefix]*entry
}

type entry struct {
	sessions int
	rate     *ratelimit.Limiter
	last     time.Time // of the last session opened
}

// New returns a limiter for cfg.
func New(cfg Config) *Limiter {
	return &Limiter{cfg: cfg.withDefaults(), now: time.Now, addrs: map[netip.Prefix]*entry{}}
}

// Acquire counts one new session of the client at remoteAddr (host:port, as in
// http.Request.RemoteAddr). On success the caller holds a slot until it calls
// release (once; later calls do nothing). On refusal it returns how long to wait
// before trying again, and why.
func (l *Limiter) Acquire(remoteAddr string) (release func(), retryAfter time.Duration, err error) {
	key := prefixOf(remoteAddr)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.addrs[key]
	if e == nil {
		if len(l.addrs) >= l.cfg.MaxAddresses {
			l.pruneLocked(now)
		}
		if len(l.addrs) >= l.cfg.MaxAddresses {
			return nil, time.Second, ErrBusy
		}
		rate := l.cfg.Rate
		if rate < 0 {
			rate = 0 // ratelimit: no limit
		}
		e = &entry{rate: ratelimit.New(rate, l.cfg.Burst)}
		l.addrs[key] = e
	}
	if l.cfg.MaxSessions >= 0 && e.sessions >= l.cfg.MaxSessions {
		return nil, 5 * time.Second, ErrTooMany
	}
	if e.rate.Take(now) != ratelimit.Allow {
		return nil, l.refill(), ErrTooFast
	}
	e.sessions++
	e.last = now
	var once sync.Once
	return func() { once.Do(func() { l.release(key) }) }, 0, nil
}

// refill is how long one token takes to come back.
func (l *Limiter) refill() time.Duration {
	if l.cfg.Rate <= 0 {
		return time.Second
	}
	return time.Duration(math.Ceil(float64(time.Second) / l.cfg.Rate))
}

func (l *Limiter) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.addrs[key]; e != nil {
		e.sessions--
	}
}

// pruneLocked forgets the addresses that hold no session and whose bucket has had
// time to refill: they would be created again as they are.
func (l *Limiter) pruneLocked(now time.Time) {
	full := time.Duration(float64(l.cfg.Burst) * float64(l.refill()))
	for k, e := range l.addrs {
		if e.sessions == 0 && now.Sub(e.last) >= full {
			delete(l.addrs, k)
		}
	}
}

// Addresses is how many addresses are tracked.
func (l *Limiter) Addresses() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}

// prefixOf is the key of a remote address: the IPv4 address, or the IPv6 /64.
// Addresses that do not parse (a Unix socket, a test's "pipe") share one key.
func prefixOf(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// Hold is a session's slot while the request that opened it runs. A handler whose
// session outlives its request (a WHIP session) keeps the slot with Keep and
// releases it when the session ends; otherwise the slot is released when the request
// ends.
type Hold struct {
	mu      sync.Mutex
	release func()
	kept    bool
}

type holdKey struct{}

// WithHold returns ctx carrying a Hold of release.
func WithHold(ctx context.Context, release func()) (context.Context, *Hold) {
	h := &Hold{release: release}
	return context.WithValue(ctx, holdKey{}, h), h
}

// Keep takes the slot of ctx's Hold over from the request: the caller must call the
// returned function (once) when its session ends. Without a Hold in ctx (a request
// that counts against no limit) it returns a function that does nothing.
func Keep(ctx context.Context) (release func()) {
	h, _ := ctx.Value(holdKey{}).(*Hold)
	if h == nil {
		return func() {}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kept = true
	return h.release
}

// Done releases the slot at the end of the request, unless it was kept.
func (h *Hold) Done() {
	h.mu.Lock()
	kept := h.kept
	h.mu.Unlock()
	if !kept {
		h.release()
	}
}
