// Package reqid gives every HTTP request an id that its log lines carry: the
// client's X-Request-ID when it is a sane token, else a new one.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// Header is the request header that may carry an id, and the response header that
// echoes it.
const Header = "X-Request-ID"

// maxLen bounds an id taken from a client: long enough for a UUID or a proxy's
// trace id, short enough that a client cannot bloat every log line of its request.
const maxLen = 64

// Key is the log attribute that carries the id.
const Key = "request_id"

// Of returns the id of r: its X-Request-ID when sane (see Sane), else a new random
// one.
func Of(r *http.Request) string {
	if id := r.Header.Get(Header); Sane(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Sane reports whether id may be taken as a request id: 1 to 64 characters of
// letters, digits and "-_.:", nothing that could forge or break a log line.
func Sane(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context { return context.WithValue(ctx, key{}, id) }

// From is the id ctx carries, "" for none.
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Attrs are the log attributes of ctx's request id: none when it has none.
func Attrs(ctx context.Context) []any {
	if id := From(ctx); id != "" {
		return []any{Key, id}
	}
	return nil
}
