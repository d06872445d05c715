// Package resume keeps a signaling session going while its client reconnects, for
// every transport that can resume one (SSE streams, WebSocket connections): an Outbox
// that numbers the session's messages and keeps them for replay, and Pending, the
// rule of how long and how many sessions wait for their client to come back.
package resume

import (
	"crypto/rand"
	"encoding/base64"
	"sync/atomic"
	"time"
)

// Defaults of Pending.
const (
	// DefaultGracePeriod is how long a session waits for its client to reconnect:
	// long enough for a phone to move from Wi-Fi to cellular, short enough that the
	// others do not watch a frozen picture for long.
	DefaultGracePeriod = 15 * time.Second
	// DefaultMaxPending bounds the sessions waiting at once.
	DefaultMaxPending = 1024
)

// Pending is the rule for sessions whose connection dropped: each waits up to the
// grace period for its client to reconnect, and at most max wait at once (a
// connection that drops beyond that ends its session at once), so that clients that
// go away cannot pile up sessions. One Pending serves every resumable transport of a
// server. Safe for concurrent use.
type Pending struct {
	grace   time.Duration
	max     int64
	waiting atomic.Int64
}

// NewPending returns the rule with grace period grace and bound max; zero or less
// means the default of each.
func NewPending(grace time.Duration, max int) *Pending {
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	if max <= 0 {
		max = DefaultMaxPending
	}
	return &Pending{grace: grace, max: int64(max)}
}

// GracePeriod is how long a session waits for its client.
func (p *Pending) GracePeriod() time.Duration { return p.grace }

// Waiting is the number of sessions waiting for their client now.
func (p *Pending) Waiting() int { return int(p.waiting.Load()) }

// Lost starts the grace period of the session of out, whose connection of
// generation gen dropped: unless a connection attaches to out before it passes, end
// is called (once, from a goroutine of its own). Beyond the bound, end is called at
// once. A connection that was no longer the attached one changes nothing.
func (p *Pending) Lost(out *Outbox, gen uint64, end func()) {
	if !out.Detach(gen) {
		return
	}
	if p.waiting.Add(1) > p.max {
		p.waiting.Add(-1)
		end()
		return
	}
	time.AfterFunc(p.grace, func() {
		p.waiting.Add(-1)
		if out.DetachedSince(gen) {
			end()
		}
	})
}

// Token is n random bytes in URL-safe base64: unguessable, so that knowing a
// session id grants nothing and a secret cannot be found by trying.
func Token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
