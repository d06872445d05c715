package origin

import (
	"net/http/httptest"
	"testing"
)

func TestCheck(t *testing.T) {
	patterns := []string{"app.example.com", "*.example.org"}
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},                              // not a browser
		{"http://switchboard.test", true},       // same host
		{"https://SWITCHBOARD.test", true},      // hosts compare without case
		{"https://app.example.com", true},       // allowed
		{"https://a.example.org", true},         // allowed by pattern
		{"https://evil.example", false},         // foreign
		{"https://app.example.com.evil", false}, // a pattern is the whole host
		{"null", false},                         // sandboxed page or file:
		{"http://switchboard.test:81", false},   // another port is another origin
		{"::not a url", false},
	} {
		r := httptest.NewRequest("GET", "http://switchboard.test/sse", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if err := Check(r, patterns); (err == nil) != tc.ok {
			t.Errorf("Origin %q: %v, want allowed %v", tc.origin, err, tc.ok)
		}
	}
}
