package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// The headers of every delivery.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the exact body with
	// the API secret; absent when the server has no API key (Config.Secret empty).
	HeaderSignature = "X-Switchboard-Signature"
	// HeaderKey names the API key whose secret signed the body.
	HeaderKey = "X-Switchboard-Key"
	// HeaderTimestamp is the event's time in Unix seconds (the body's "time").
	HeaderTimestamp = "X-Switchboard-Timestamp"
	// HeaderEvent is the event's type, HeaderDelivery its id (the same on retries).
	HeaderEvent    = "X-Switchboard-Event"
	HeaderDelivery = "X-Switchboard-Delivery"
)

// signaturePrefix names the algorithm in HeaderSignature.
const signaturePrefix = "sha256="

// Sign is the HeaderSignature value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature, a HeaderSignature value, is body's under
// secret. It compares in constant time. A receiver in Go calls it with the exact
// bytes it read, before decoding them.
func Verify(secret string, body []byte, signature string) bool {
	if !strings.HasPrefix(signature, signaturePrefix) {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

func setHeaders(h http.Header, d delivery, keyID string) {
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Switchboard-Webhook/1")
	h.Set(HeaderEvent, string(d.typ))
	h.Set(HeaderDelivery, d.id)
	h.Set(HeaderTimestamp, strconv.FormatInt(d.time.Unix(), 10))
	if d.signature != "" {
		h.Set(HeaderSignature, d.signature)
		if keyID != "" {
			h.Set(HeaderKey, keyID)
		}
	}
}
