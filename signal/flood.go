package signal

import "github.com/switchboard-rtc/switchboard/internal/ratelimit"

// Relays in mesh rooms are limited per session by a budget of their own (the same
// limiter as every message's), so that one client cannot make the server copy
// without end. A browser that joins a full mesh room relays an offer, an answer and a
// few candidates per peer at once; the burst covers that many times over. A client
// over the budget gets flood errors; one that keeps sending at more than twice the
// rate is cut off (ErrFlood).
const (
	// relayRate is the sustained rate, in relays per second.
	relayRate = 50
	// relayBurst is the bucket's size.
	relayBurst = 200
)

func newRelayLimiter() *ratelimit.Limiter { return ratelimit.New(relayRate, relayBurst) }
