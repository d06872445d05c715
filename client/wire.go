package client

import (
	"context"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// wire carries the protocol's messages, one per call: a WebSocket, or an SSE stream
// with POSTs. Read is called by one goroutine; Write by one at a time.
type wire interface {
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, msg []byte) error
	Close() error
}

// dial opens the transport url names by its scheme.
func dial(ctx context.Context, url string, hc *http.Client) (wire, error) {
	if strings.HasPrefix(url, "http:") || strings.HasPrefix(url, "https:") {
		return dialSSE(ctx, url, hc)
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	// The server's messages are bounded by its own limits; 1 MiB leaves room.
	conn.SetReadLimit(1 << 20)
	return wsWire{conn}, nil
}

type wsWire struct{ c *websocket.Conn }

func (w wsWire) Read(ctx context.Context) ([]byte, error) {
	_, b, err := w.c.Read(ctx)
	return b, err
}

func (w wsWire) Write(ctx context.Context, msg []byte) error {
	return w.c.Write(ctx, websocket.MessageText, msg)
}

func (w wsWire) Close() error { return w.c.CloseNow() }
