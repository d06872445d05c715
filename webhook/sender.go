package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config's zero values.
const (
	// DefaultQueueSize is how many events wait for one endpoint: room events come a
	// few per join, so this holds a burst of some hundreds of joins while an
	// endpoint is slow or retrying.
	DefaultQueueSize = 1024
	// DefaultTimeout bounds one delivery attempt, response headers included.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxAttempts is how many times one event is tried on one endpoint.
	DefaultMaxAttempts = 8
	// DefaultMinBackoff is the wait before the first retry; each further retry
	// waits twice as long, up to DefaultMaxBackoff.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff caps the wait between two attempts (and a Retry-After).
	DefaultMaxBackoff = time.Minute
	// DefaultDrainTimeout is how long Close lets the queues drain.
	DefaultDrainTimeout = 5 * time.Second
)

// maxResponseRead bounds how much of a receiver's response is read (and thrown
// away) so that its connection can be reused; a larger body closes it.
const maxResponseRead = 4 << 10

// Config configures a Sender. Zero values are the defaults above.
type Config struct {
	// URLs are the endpoints; each receives every event. Only http and https.
	URLs []string
	// Secret signs each body (HMAC-SHA256, HeaderSignature); KeyID names it
	// (HeaderKey). Empty Secret: events go unsigned, and New's caller should warn.
	KeyID, Secret string
	// QueueSize bounds the events waiting for one endpoint; beyond it they are
	// dropped (Stats.Dropped).
	QueueSize int
	// Timeout bounds one attempt.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one event on one endpoint, the first
	// included; then it is given up (Stats.Failed).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential wait between attempts.
	MinBackoff, MaxBackoff time.Duration
	// DrainTimeout bounds Close: events still queued or being retried then are
	// abandoned (Stats.Abandoned).
	DrainTimeout time.Duration
	// Client makes the requests; nil: one of the Sender's own, that follows no
	// redirects and whose idle connections Close closes.
	Client *http.Client
	// Logger receives delivery failures; nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, DefaultTimeout)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.DrainTimeout, DefaultDrainTimeout)
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Client == nil {
		c.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Stats counts what happened to events, over every endpoint: an event sent to two
// endpoints counts twice.
type Stats struct {
	// Delivered: answered with a 2xx.
	Delivered int64
	// Retried: attempts after a first one.
	Retried int64
	// Failed: given up, after a final status or MaxAttempts.
	Failed int64
	// Dropped: refused by a full queue, or sent after Close.
	Dropped int64
	// Abandoned: still queued or being retried when Close's drain time ran out.
	Abandoned int64
}

// Sender delivers events to its endpoints. Safe for concurrent use; Send never
// waits. Close stops it.
type Sender struct {
	cfg       Config
	ownClient bool // cfg.Client is the Sender's own
	endpoints []*endpoint

	// ctx ends in-flight attempts and backoff waits when Close gives up draining.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on closed queues
	closed bool

	delivered, retried, failed, dropped, abandoned atomic.Int64
}

type endpoint struct {
	url   string
	log   *slog.Logger
	queue chan delivery
}

// delivery is one event ready to post: its body and the headers made from it.
type delivery struct {
	id, signature string
	typ           Type
	time          time.Time
	body          []byte
}

// New starts a sender with a goroutine per endpoint. It fails on a URL that is not
// absolute http or https.
func New(cfg Config) (*Sender, error) {
	ownClient := cfg.Client == nil
	cfg.setDefaults()
	s := &Sender{cfg: cfg, ownClient: ownClient}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webhook: %q is not an http or https URL", raw)
		}
		s.endpoints = append(s.endpoints, &endpoint{url: raw, queue: make(chan delivery, cfg.QueueSize),
			log: cfg.Logger.With("webhook", u.Redacted())})
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, ep := range s.endpoints {
		s.wg.Add(1)
		go s.run(ep)
	}
	return s, nil
}

// Signed reports whether events are signed.
func (s *Sender) Signed() bool { return s.cfg.Secret != "" }

// Send queues e for every endpoint and returns at once; where a queue is full, e is
// dropped for that endpoint and counted.
func (s *Sender) Send(e Event) {
	body, err := json.Marshal(e)
	if err != nil { // an Event always marshals; guard anyway rather than send nothing silently
		s.cfg.Logger.Error("webhook event not encoded", "event", e.Type, "err", err)
		return
	}
	d := delivery{id: e.ID, typ: e.Type, time: e.Time, body: body}
	if s.cfg.Secret != "" {
		d.signature = Sign(s.cfg.Secret, body)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ep := range s.endpoints {
		if s.closed {
			s.dropped.Add(1)
			continue
		}
		select {
		case ep.queue <- d:
		default:
			s.dropped.Add(1)
		}
	}
}

// Stats counts deliveries so far.
func (s *Sender) Stats() Stats {
	return Stats{Delivered: s.delivered.Load(), Retried: s.retried.Load(), Failed: s.failed.Load(),
		Dropped: s.dropped.Load(), Abandoned: s.abandoned.Load()}
}

// Close refuses further events, lets the queued ones be delivered for up to
// DrainTimeout, then abandons the rest and waits for its goroutines. Safe to call
// more than once.
func (s *Sender) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for _, ep := range s.endpoints {
			close(ep.queue)
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	timer := time.NewTimer(s.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.cancel()
		<-done
	}
	s.cancel()
	if s.ownClient {
		s.cfg.Client.CloseIdleConnections()
	}
}

// run delivers ep's events in order until its queue is closed and empty.
func (s *Sender) run(ep *endpoint) {
	defer s.wg.Done()
	for d := range ep.queue {
		if s.ctx.Err() != nil {
			s.abandoned.Add(1)
			continue
		}
		s.deliver(ep, d)
	}
}

// deliver tries d on ep until it is delivered, fails for good, or Close abandons it.
func (s *Sender) deliver(ep *endpoint, d delivery) {
	for attempt := 1; ; attempt++ {
		retryAfter, err := s.post(ep, d)
		if err == nil {
			s.delivered.Add(1)
			return
		}
		if s.ctx.Err() != nil {
			s.abandoned.Add(1)
			return
		}
		var final finalError
		if errors.As(err, &final) || attempt >= s.cfg.MaxAttempts {
			s.failed.Add(1)
			ep.log.Warn("webhook not delivered", "event", d.typ, "id", d.id, "attempts", attempt, "err", err)
			return
		}
		wait := max(s.backoff(attempt), retryAfter)
		ep.log.Debug("webhook attempt failed; retrying", "event", d.typ, "id", d.id, "attempt", attempt, "in", wait, "err", err)
		if !s.sleep(min(wait, s.cfg.MaxBackoff)) {
			s.abandoned.Add(1)
			return
		}
		s.retried.Add(1)
	}
}

// backoff is the wait after the attempt-th failed attempt: MinBackoff doubling each
// time, capped at MaxBackoff.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// sleep waits d, and reports false when Close abandoned the wait.
func (s *Sender) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// finalError is a failed delivery not to be retried: a status other than 2xx, 5xx
// and 429.
type finalError struct{ status int }

func (e finalError) Error() string { return fmt.Sprintf("status %d", e.status) }

// post makes one attempt. Its error is a finalError when retrying cannot help;
// retryAfter is the receiver's Retry-After, when it sent one.
func (s *Sender) post(ep *endpoint, d delivery) (retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(d.body))
	if err != nil {
		return 0, finalError{}
	}
	setHeaders(req.Header, d, s.cfg.KeyID)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, err // a connection error or a timeout: retried
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, nil
	case code >= 500 || code == http.StatusTooManyRequests:
		return parseRetryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("status %d", code)
	default:
		return 0, finalError{status: code}
	}
}

// parseRetryAfter reads a Retry-After in seconds; zero when absent or a date.
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
