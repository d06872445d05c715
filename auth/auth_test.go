package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testKey    = "APIkey1"
	testSecret = "0123456789abcdef0123456789abcdef-secret"
)

func testVerifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(map[string]string{testKey: testSecret, "other": "another-secret-of-at-least-32-characters"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mint(t *testing.T, c Claims) string {
	t.Helper()
	tok, err := Mint(testKey, testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyValid(t *testing.T) {
	v := testVerifier(t)
	grants := Grants{Join: true, Publish: true, PublishSources: []string{SourceCamera}, Subscribe: true}
	c, err := v.Verify(mint(t, NewClaims("standup", "ada", "Ada L.", grants, time.Minute)))
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if c.Room != "standup" || c.Identity() != "ada" || c.Name != "Ada L." || c.Issuer != testKey {
		t.Errorf("claims = %+v", c)
	}
	if !c.Grants.MaySend(SourceCamera) || c.Grants.MaySend(SourceScreen) || c.Grants.Admin {
		t.Errorf("grants = %+v", c.Grants)
	}
}

// encodeSegment is a JWT segment of v.
func encodeSegment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// handMade builds a token from its header and claims and signs it with HMAC-SHA256 of
// secret, whatever the header says.
func handMade(t *testing.T, header map[string]any, claims Claims, secret string) string {
	t.Helper()
	signing := encodeSegment(t, header) + "." + encodeSegment(t, claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestVerifyRefusals(t *testing.T) {
	v := testVerifier(t)
	ok := NewClaims("standup", "ada", "", Grants{Join: true}, time.Minute)
	expired := ok
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	early := ok
	early.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
	noExpiry := ok
	noExpiry.ExpiresAt = nil
	future := ok
	future.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	valid := mint(t, ok)
	parts := strings.Split(valid, ".")

	none := encodeSegment(t, map[string]any{"alg": "none", "typ": "JWT", "kid": testKey}) + "." +
		encodeSegment(t, ok) + "."
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, ok).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	wrongKid, err := Mint("nobody", testSecret, ok)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := Mint("other", testSecret, ok) // signed with the wrong key's secret
	if err != nil {
		t.Fatal(err)
	}
	mismatch := ok
	mismatch.Issuer = "other"

	for _, tc := range []struct {
		name, token, reason string
	}{
		{"empty", "", "no token"},
		{"garbage", "not-a-token", "token is malformed"},
		{"expired", mint(t, expired), "token expired"},
		{"nbf in the future", mint(t, early), "token is not valid yet"},
		{"no expiry", mint(t, noExpiry), "token has no expiry"},
		{"issued in the future", mint(t, future), "token is issued in the future"},
		{"bad signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), "bad signature"},
		{"other claims, same signature", parts[0] + "." + encodeSegment(t, expired) + "." + parts[2], "bad signature"},
		{"signed by another secret", mint2(t, testKey, "a-different-secret-of-32-characters!!", ok), "bad signature"},
		{"alg none", none, "token is not signed with HS256"},
		{"alg HS512", hs512, "token is not signed with HS256"},
		{"alg RS256 header, HMAC body", handMade(t, map[string]any{"alg": "RS256", "kid": testKey}, ok, testSecret), "token is not signed with HS256"},
		{"unknown key id", wrongKid, `unknown API key "nobody"`},
		{"key id of another key", otherKey, "bad signature"},
		{"no key id", handMade(t, map[string]any{"alg": "HS256"}, ok, testSecret), "token names no API key (kid)"},
		{"issuer and kid differ", mint(t, mismatch), "token's issuer and key id differ"},
		{"too large", strings.Repeat("a", MaxTokenSize+1), "token is too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.token)
			if err == nil {
				t.Fatal("token accepted")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
			}
			if e.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", e.Reason, tc.reason)
			}
		})
	}
}

func mint2(t *testing.T, key, secret string, c Claims) string {
	t.Helper()
	tok, err := Mint(key, secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifierNeedsStrongSecrets(t *testing.T) {
	for _, keys := range []map[string]string{{"k": "short"}, {"": testSecret}, {"k": ""}} {
		if _, err := NewVerifier(keys); err == nil {
			t.Errorf("NewVerifier(%v) accepted", keys)
		}
	}
}

func TestFromRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "/ws?token=fromquery", nil)
	if got := FromRequest(r); got != "fromquery" {
		t.Errorf("query token = %q", got)
	}
	r.Header.Set("Authorization", "bearer fromheader")
	if got := FromRequest(r); got != "fromheader" {
		t.Errorf("header token = %q", got)
	}
	r = httptest.NewRequest("GET", "/ws", nil)
	r.Header.Set("Authorization", "Basic abc")
	if got := FromRequest(r); got != "" {
		t.Errorf("Basic credentials taken as a token: %q", got)
	}
}

func TestAllowsRoom(t *testing.T) {
	c := Claims{Room: "a"}
	if !c.AllowsRoom("a") || c.AllowsRoom("b") || c.AllowsRoom("") {
		t.Error("room a")
	}
	c.Room = AnyRoom
	if !c.AllowsRoom("b") {
		t.Error("any room")
	}
	c.Room = ""
	if c.AllowsRoom("b") {
		t.Error("a token without a room allows one")
	}
}
