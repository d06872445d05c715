package signal

import (
	"time"
)

// Relays in mesh rooms are limited per session by a token bucket, so that one client
// cannot make the server copy without end. A browser that joins a full mesh room
// relays an offer, an answer and a few candidates per peer at once; the burst covers
// that many times over.
const (
	// relayRate is the sustained rate, in relays per second.
	relayRate = 50
	// relayBurst is the bucket's size.
	relayBurst = 200
	// relayGrace is how far refused relays (each answered with a flood error) may
	// outnumber admitted ones before the session ends with ErrFlood: a client that
	// goes over now and then is told; one that keeps sending far over is cut off.
	relayGrace = 50
)

// relayLimiter is a session's token bucket for relays. Owned by the session's Run.
type relayLimiter struct {
	tokens  float64
	last    time.Time
	refused int // relays refused, less one for each admitted since
}

// admit takes a token for a relay at now. Without one it returns a flood protocol
// error, or ErrFlood once refusals outnumber admissions by relayGrace.
func (l *relayLimiter) admit(now time.Time) error {
	if l.last.IsZero() {
		l.tokens = relayBurst
	} else {
		l.tokens = min(relayBurst, l.tokens+now.Sub(l.last).Seconds()*relayRate)
	}
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		l.refused = max(0, l.refused-1)
		return nil
	}
	l.refused++
	if l.refused > relayGrace {
		return ErrFlood
	}
	return protocolError(CodeFlood, "too many relays: at most 50 a second, in bursts of 200")
}
