package signal

import (
	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Defaults of Limits: what internal/ratelimit gives every transport.
const (
	DefaultMessagesPerSecond = ratelimit.DefaultRate
	DefaultMessageBurst      = ratelimit.DefaultBurst
)

// Limits bound what one client may send. The zero value of each field means its
// default.
type Limits struct {
	// MaxMessageSize bounds one message, in bytes; the transport enforces it on
	// each frame or POST body. Zero means wire.MaxMessageSize (256 KiB).
	MaxMessageSize int
	// MessagesPerSecond is the rate of messages a client may keep up. Messages beyond
	// it and the burst are refused with a rate-limited error; a client that goes on at
	// more than twice the rate is disconnected (ErrRateLimited). Zero means
	// DefaultMessagesPerSecond; negative means no limit.
	MessagesPerSecond float64
	// MessageBurst is how many messages a client may send at once beyond the rate.
	// Zero means DefaultMessageBurst.
	MessageBurst int
}

// MessageSize is the largest message a client may send, in bytes.
func (l Limits) MessageSize() int {
	if l.MaxMessageSize > 0 {
		return l.MaxMessageSize
	}
	return wire.MaxMessageSize
}

// Rate is the rate and burst of messages a client may send; a rate of zero means no
// limit.
func (l Limits) Rate() (perSecond float64, burst int) {
	return ratelimit.Resolve(l.MessagesPerSecond, l.MessageBurst)
}
