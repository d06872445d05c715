package signal

import (
	"time"

	"github.com/switchboard-rtc/switchboard/wire"
)

// Drainer is what sessions need of a server that shuts down gracefully: once
// Draining is closed, joins are refused (draining) and every session is told once,
// with Deadline (zero: none).
type Drainer interface {
	// Draining is closed when the server starts draining; it stays closed.
	Draining() <-chan struct{}
	// Deadline is when the server ends the calls still running; zero when it waits
	// for them without one. Read after Draining is closed.
	Deadline() time.Time
}

// ErrDraining refuses a join while the server drains.
var ErrDraining = protocolError(wire.CodeDraining, "the server is shutting down: join again later, or on another server")

// draining is the channel closed when the server drains, nil (never ready) without
// a Drainer.
func (c *Config) draining() <-chan struct{} {
	if c.Drain == nil {
		return nil
	}
	return c.Drain.Draining()
}

// isDraining reports whether the server has started draining.
func (c *Config) isDraining() bool {
	select {
	case <-c.draining():
		return true
	default:
		return false
	}
}

// drainingBody is the message that tells a session the server drains.
func (c *Config) drainingBody() wire.Draining {
	var d wire.Draining
	if t := c.Drain.Deadline(); !t.IsZero() {
		d.Deadline = t.UTC().Format(time.RFC3339)
	}
	return d
}
