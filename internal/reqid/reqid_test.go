package reqid

import (
	"net/http"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		header string
		kept   bool
	}{
		{"abc-123", true},
		{"0af7651916cd43dd8448eb211c80319c", true},
		{"", false},
		{"a b", false},
		{"x\nlevel=ERROR", false},
		{`"quoted"`, false},
		{strings.Repeat("a", 65), false},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set(Header, tc.header)
		id := Of(r)
		if got := id == tc.header; got != tc.kept {
			t.Errorf("X-Request-ID %q: id %q, kept %v, want %v", tc.header, id, got, tc.kept)
		}
		if !Sane(id) {
			t.Errorf("X-Request-ID %q: id %q is not sane", tc.header, id)
		}
	}
	r, _ := http.NewRequest("GET", "/", nil)
	if a, b := Of(r), Of(r); a == b {
		t.Errorf("two new ids are the same: %q", a)
	}
}
