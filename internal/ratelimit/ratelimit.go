// Package ratelimit limits the messages of one connection: a token bucket, and a
// second bucket of the same size for the messages refused, so that a client a little
// over its rate is told and a client far over it is cut off.
package ratelimit

import "time"

// Verdict is what to do with one message.
type Verdict int

const (
	// Allow: the message is within the rate.
	Allow Verdict = iota
	// Refuse: over the rate; refuse this message and go on.
	Refuse
	// Cut: far over the rate for too long; end the connection.
	Cut
)

// Limiter admits rate messages per second on average, with bursts of burst. Messages
// beyond that are refused, and refusals themselves are admitted at the same rate and
// burst: a client that keeps sending at more than twice its rate exhausts them and is
// cut off, after about burst refusals. Not safe for concurrent use: one connection's
// reader owns it.
type Limiter struct {
	rate      float64 // tokens per second
	burst     float64
	tokens    float64
	refusals  float64 // tokens of the refusal bucket
	last      time.Time
	unlimited bool
}

// The default rate and burst of a connection's messages: a joining client sends a
// few messages and a dozen candidates, then pings every 10 s and chats; its burst
// covers joining and publishing with candidates trickled from several interfaces.
const (
	DefaultRate  = 20
	DefaultBurst = 50
)

// Resolve turns configured values into a limiter's rate and burst: a rate of zero
// means DefaultRate and a negative one no limit; a burst of zero or less means
// DefaultBurst.
func Resolve(rate float64, burst int) (float64, int) {
	switch {
	case rate == 0:
		rate = DefaultRate
	case rate < 0:
		rate = 0
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	return rate, burst
}

// New returns a limiter with a full bucket. A rate of zero or less means no limit.
func New(rate float64, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	b := float64(burst)
	return &Limiter{rate: rate, burst: b, tokens: b, refusals: b, unlimited: rate <= 0}
}

// Take judges one message arriving at now.
func (l *Limiter) Take(now time.Time) Verdict {
	if l.unlimited {
		return Allow
	}
	if !l.last.IsZero() {
		refill := now.Sub(l.last).Seconds() * l.rate
		l.tokens = min(l.burst, l.tokens+max(refill, 0))
		l.refusals = min(l.burst, l.refusals+max(refill, 0))
	}
	l.last = now
	switch {
	case l.tokens >= 1:
		l.tokens--
		return Allow
	case l.refusals >= 1:
		l.refusals--
		return Refuse
	}
	return Cut
}
