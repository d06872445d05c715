package whip

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/webrtc/v4"
)

// countingResource is a resource that counts the candidates it is given.
type countingResource struct{ candidates int }

func (r *countingResource) AddCandidate(webrtc.ICECandidateInit) error { r.candidates++; return nil }
func (r *countingResource) Close()                                     {}
func (r *countingResource) RestartICE(context.Context, string, string) (string, error) {
	return "", nil
}

// patchOnce sends one trickle PATCH of n candidates to the resource id of h.
func patchOnce(h *Handler, id string, n int) *httptest.ResponseRecorder {
	var b strings.Builder
	b.WriteString("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n")
	for i := range n {
		fmt.Fprintf(&b, "a=candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host\r\n", i, 5000+i)
	}
	r := httptest.NewRequest("PATCH", "/whip/resource/"+id, strings.NewReader(b.String()))
	r.Header.Set("Content-Type", sdpFragType)
	r.SetPathValue("id", id)
	w := httptest.NewRecorder()
	h.patch(w, r)
	return w
}

// TestPatchesPerResourceAreBounded: trickle PATCHes to one resource are admitted at
// patchRate with bursts of patchBurst, and refused with 429 beyond; a fragment of more
// than maxFragCandidates candidates is refused with 413.
func TestPatchesPerResourceAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Rooms: &noRooms{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		res := &countingResource{}
		id, ok := h.add(&session{resource: res, kind: "whip", release: func() {}})
		if !ok {
			t.Fatal("cannot add the resource")
		}
		codes := map[int]int{}
		for range 3 * patchBurst {
			w := patchOnce(h, id, 1)
			codes[w.Code]++
			if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		if codes[http.StatusNoContent] != patchBurst || codes[http.StatusTooManyRequests] != 2*patchBurst {
			t.Fatalf("statuses of %d PATCHes at once: %v; want %d 204 and the rest 429", 3*patchBurst, codes, patchBurst)
		}
		time.Sleep(time.Second)
		if w := patchOnce(h, id, 1); w.Code != http.StatusNoContent {
			t.Errorf("a second later: %d, want 204", w.Code)
		}
		if w := patchOnce(h, id, maxFragCandidates+1); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%d candidates in one PATCH: %d, want 413", maxFragCandidates+1, w.Code)
		}
		if res.candidates != patchBurst+1 {
			t.Errorf("%d candidates applied, want %d", res.candidates, patchBurst+1)
		}
		h.Close()
	})
}
