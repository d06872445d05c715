// Package keepalive pings a WebSocket client so that a client whose network vanished
// (no FIN or RST ever reaches the server) is noticed: its pong does not come.
package keepalive

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"
)

// Defaults: a ping every 5 s, answered within 5 s, notice a vanished client within
// 10 s.
const (
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = 5 * time.Second
)

// ErrPongTimeout: a ping was not answered in time.
var ErrPongTimeout = errors.New("no pong: the client is gone")

// Ping pings c every interval until ctx ends, and returns ErrPongTimeout when a pong
// does not come within timeout (zero values mean the defaults), or the error of a
// failed ping. It returns nil when ctx ends. Pongs are read by the connection's
// reader: someone must be calling c.Read.
func Ping(ctx context.Context, c *websocket.Conn, interval, timeout time.Duration) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Ping(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			return ErrPongTimeout
		case err != nil:
			return err
		}
	}
}
