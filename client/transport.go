package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// transport carries the protocol's messages, one per call: a WebSocket, or an SSE stream
// with POSTs. Read is called by one goroutine; Write by one at a time.
type transport interface {
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, msg []byte) error
	Close() error
}

// dial opens the transport url names by its scheme.
// A non-empty token goes in an Authorization header.
func dial(ctx context.Context, url string, hc *http.Client, token string) (transport, error) {
	if strings.HasPrefix(url, "http:") || strings.HasPrefix(url, "https:") {
		return dialSSE(ctx, url, hc, token)
	}
	opts := websocket.DialOptions{HTTPClient: hc}
	if token != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	}
	conn, resp, err := websocket.Dial(ctx, url, &opts)
	if err != nil {
		return nil, refusal(resp, err)
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

// RefusedError is the server's refusal of a connection: its HTTP status and the
// reason it gave (a join token's refusal, say).
type RefusedError struct {
	Status int
	Code   string
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("client: refused with %d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// refusal turns a failed upgrade with an HTTP answer into a *RefusedError.
func refusal(resp *http.Response, err error) error {
	if resp == nil || resp.StatusCode < 400 {
		return err
	}
	defer resp.Body.Close()
	return refusedBy(resp)
}

// refusedBy reads the refusal resp carries: a JSON error ({"error": {"code",
// "message"}}) or text.
func refusedBy(resp *http.Response) *RefusedError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	e := &RefusedError{Status: resp.StatusCode, Reason: strings.TrimSpace(string(body))}
	var j struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(body, &j) == nil && j.Error.Message != "" {
		e.Code, e.Reason = j.Error.Code, j.Error.Message
	}
	return e
}
