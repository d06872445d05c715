// Package auth issues and verifies join tokens: JSON Web Tokens signed with HMAC-SHA256
// by the secret of an API key. A token names a room, the identity of the person who
// joins, their display name, when it expires, and what they may do there (grants).
//
// The header's "kid" and the "iss" claim carry the API key; the Verifier looks up its
// secret. Only HS256 is accepted: a token signed with another algorithm, or with none,
// is refused whatever it claims. See docs/auth.md.
package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Publish sources a token may allow; they are the sources of the signaling protocol.
const (
	SourceCamera     = "camera"
	SourceMicrophone = "microphone"
	SourceScreen     = "screen"
)

// AnyRoom as a token's room lets it join every room.
const AnyRoom = "*"

// The values of a token's mode claim.
const (
	// ModeMesh: the holder may create mesh rooms, and auto rooms.
	ModeMesh = "mesh"
	// ModeAuto: the holder may create auto rooms (which are mesh rooms until they
	// grow), and no plain mesh rooms.
	ModeAuto = "auto"
)

// Grants say what a token's holder may do.
type Grants struct {
	// Join lets the holder join the token's room. Without it, every signaling
	// endpoint refuses the token.
	Join bool `json:"join,omitempty"`
	// Publish lets the holder send media; PublishSources, when not empty, limits it to
	// those sources (camera, microphone, screen).
	Publish        bool     `json:"publish,omitempty"`
	PublishSources []string `json:"publish_sources,omitempty"`
	// Subscribe lets the holder receive the others' media.
	Subscribe bool `json:"subscribe,omitempty"`
	// Admin lets the holder use the admin API.
	Admin bool `json:"admin,omitempty"`
}

// MaySend reports whether the grants let the holder publish source.
func (g Grants) MaySend(source string) bool {
	if !g.Publish {
		return false
	}
	if len(g.PublishSources) == 0 {
		return true
	}
	for _, s := range g.PublishSources {
		if s == source {
			return true
		}
	}
	return false
}

// Claims is a token's payload: the registered claims (sub is the identity, iss the
// API key, exp, nbf, iat) and Switchboard's own.
type Claims struct {
	Room   string `json:"room,omitempty"`
	Name   string `json:"name,omitempty"`
	Grants Grants `json:"grants"`
	// Mode, when ModeMesh, lets the holder create mesh rooms: a join that asks for
	// mesh in a room that does not exist yet, and that the server's configuration
	// does not make a mesh room, is refused without it. ModeMesh and ModeAuto let
	// the holder create auto rooms outside the configured ones the same way.
	Mode string `json:"mode,omitempty"`
	jwt.RegisteredClaims
}

// Identity is the holder's identity: the subject claim.
func (c *Claims) Identity() string { return c.Subject }

// AllowsRoom reports whether the token is for room.
func (c *Claims) AllowsRoom(room string) bool { return c.Room == AnyRoom || c.Room == room }

// Error is why a token was refused; its text is meant for people and is safe to show
// to the client.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

// Refusals that are not about a token's content.
var (
	ErrNoToken = &Error{"no token"}
)

// ClockSkew is how far the clocks of the token's issuer and the server may differ:
// exp, nbf and iat are checked with this much leeway.
const ClockSkew = 30 * time.Second

// MaxTokenSize bounds a token: claims of a few names and grants fit in 1 KiB; more is
// not a token this server issued.
const MaxTokenSize = 4 << 10

// Verifier checks tokens against a set of API keys. The zero value knows no key and
// refuses every token. Safe for concurrent use once built.
type Verifier struct {
	secrets map[string][]byte // by API key
	now     func() time.Time
}

// NewVerifier returns a verifier for keys, which maps each API key to its secret.
func NewVerifier(keys map[string]string) (*Verifier, error) {
	v := &Verifier{secrets: make(map[string][]byte, len(keys)), now: time.Now}
	for k, s := range keys {
		if k == "" || s == "" {
			return nil, errors.New("auth: an API key and its secret must not be empty")
		}
		if len(s) < 32 {
			return nil, fmt.Errorf("auth: the secret of API key %q is shorter than 32 characters", k)
		}
		v.secrets[k] = []byte(s)
	}
	return v, nil
}

// Verify checks token's signature, algorithm, key and times, and returns its claims.
// A refusal is an *Error that says why.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if len(token) > MaxTokenSize {
		return nil, &Error{"token is too large"}
	}
	// The algorithm is checked first, so that a token of another algorithm (or of
	// none) is refused as such rather than as a bad signature.
	unverified, _, err := jwt.NewParser().ParseUnverified(token, &Claims{})
	if err != nil && !errors.Is(err, jwt.ErrTokenUnverifiable) {
		return nil, &Error{"token is malformed"}
	}
	if unverified == nil || unverified.Method == nil || unverified.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		return nil, &Error{"token is not signed with HS256"}
	}
	claims := &Claims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
		jwt.WithLeeway(ClockSkew),
	)
	_, err = parser.ParseWithClaims(token, claims, v.keyFor)
	if err != nil {
		return nil, refusal(err)
	}
	if claims.Mode != "" && claims.Mode != ModeMesh && claims.Mode != ModeAuto {
		// Ignoring it could let a later meaning of the claim be granted by accident.
		return nil, &Error{"token names an unknown mode " + quote(claims.Mode)}
	}
	return claims, nil
}

// keyFor finds the secret of the token's API key: the header's kid, else its iss.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	key, _ := t.Header["kid"].(string)
	if key == "" {
		if c, ok := t.Claims.(*Claims); ok {
			key = c.Issuer
		}
	}
	if key == "" {
		return nil, &Error{"token names no API key (kid)"}
	}
	secret, ok := v.secrets[key]
	if !ok {
		return nil, &Error{"unknown API key " + quote(key)}
	}
	if c, ok := t.Claims.(*Claims); ok && c.Issuer != "" && c.Issuer != key {
		return nil, &Error{"token's issuer and key id differ"}
	}
	return secret, nil
}

// refusal turns a parser error into the reason given to the client.
func refusal(err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, jwt.ErrTokenMalformed):
		return &Error{"token is malformed"}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return &Error{"bad signature"}
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return &Error{"token has no expiry"}
	case errors.Is(err, jwt.ErrTokenExpired):
		return &Error{"token expired"}
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return &Error{"token is not valid yet"}
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return &Error{"token is issued in the future"}
	}
	return &Error{"invalid token"}
}

// Mint signs claims with secret as API key key. It sets iss and kid to key and iat to
// now when they are unset; the caller sets the expiry.
func Mint(key, secret string, claims Claims) (string, error) {
	if key == "" || secret == "" {
		return "", errors.New("auth: mint: an API key and secret are required")
	}
	if claims.Issuer == "" {
		claims.Issuer = key
	}
	if claims.IssuedAt == nil {
		claims.IssuedAt = jwt.NewNumericDate(time.Now())
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = key
	return t.SignedString([]byte(secret))
}

// NewClaims returns claims for identity in room with the given grants, expiring after
// ttl.
func NewClaims(room, identity, name string, grants Grants, ttl time.Duration) Claims {
	now := time.Now()
	return Claims{
		Room: room, Name: name, Grants: grants,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   identity,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
}

// FromRequest returns the token r carries: "Authorization: Bearer <token>", else the
// "token" query parameter (browsers cannot set headers on WebSocket and EventSource
// requests). Empty when there is none.
func FromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := cutPrefixFold(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return r.URL.Query().Get("token")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// quote shortens and quotes untrusted text for an error reason.
func quote(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return fmt.Sprintf("%q", s)
}
