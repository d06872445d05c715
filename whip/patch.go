package whip

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
)

// The trickle PATCHes of one resource, a second and at once: a client trickles a
// handful of candidates, and restarts ICE now and then; beyond the rate, PATCHes are
// answered 429 and the session goes on.
const (
	patchRate  = ratelimit.DefaultRate
	patchBurst = ratelimit.DefaultBurst
)

// patch answers PATCH on a resource with an sdpfrag (RFC 8840): trickled ICE
// candidates (204), or, with If-Match: "*", an ICE restart (RFC 9725 section 4.3.2):
// 200 with the server's new credentials and candidates and a new entity tag. A
// trickle whose If-Match is not the session's current entity tag gets 412.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	h.cors(w)
	id, s, ok := h.ownSession(w, r)
	if !ok {
		return
	}
	if !h.admitPatch(id) {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many PATCHes to this session: at most %d a second", patchRate))
		return
	}
	if !hasContentType(r, sdpFragType) {
		writeError(w, http.StatusUnsupportedMediaType, "a PATCH must be "+sdpFragType)
		return
	}
	match := r.Header.Get("If-Match")
	if match != "" && match != "*" && match != h.etag(id) {
		writeError(w, http.StatusPreconditionFailed, "If-Match does not match the session's entity tag")
		return
	}
	body, ok := readBody(w, r, maxFragSize)
	if !ok {
		return
	}
	frag, err := parseFrag(string(body))
	switch {
	case errors.Is(err, errFragCandidates):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if match == "*" {
		h.restart(w, r, id, s, frag)
		return
	}
	if addCandidates(w, s, frag) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// admitPatch reports whether a PATCH to the resource id is within its rate.
func (h *Handler) admitPatch(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.patches[id]
	if l == nil {
		if h.resources[id] == nil {
			return false
		}
		l = ratelimit.New(patchRate, patchBurst)
		h.patches[id] = l
	}
	return l.Take(time.Now()) == ratelimit.Allow
}

// restart applies an ICE restart and answers with the server's new fragment.
func (h *Handler) restart(w http.ResponseWriter, r *http.Request, id string, s *session, frag fragment) {
	if frag.ufrag == "" || frag.pwd == "" {
		writeError(w, http.StatusBadRequest, "an ICE restart needs a=ice-ufrag and a=ice-pwd")
		return
	}
	ctx, cancel := answerContext(r)
	defer cancel()
	answer, err := s.RestartICE(ctx, frag.ufrag, frag.pwd)
	if err != nil {
		writeMediaError(w, err)
		return
	}
	if !addCandidates(w, s, frag) {
		return
	}
	w.Header().Set("Content-Type", sdpFragType)
	w.Header().Set("ETag", h.restarted(id))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(answerFrag(answer)))
	h.logFor(r, id, s).Info("ICE restarted")
}

// addCandidates applies the fragment's candidates; on failure it writes the error.
func addCandidates(w http.ResponseWriter, s resource, frag fragment) bool {
	for _, c := range frag.candidates {
		if err := s.AddCandidate(c); err != nil {
			writeMediaError(w, err)
			return false
		}
	}
	return true
}

// ownSession finds the session of r's path, and checks that r comes from its
// owner; it answers 404 or 403 itself when not.
func (h *Handler) ownSession(w http.ResponseWriter, r *http.Request) (string, *session, bool) {
	id := r.PathValue("id")
	s := h.get(id)
	if s == nil {
		writeError(w, http.StatusNotFound, "no such session")
		return "", nil, false
	}
	return id, s, h.owned(w, r, s)
}

// delete ends a session.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	h.cors(w)
	id, _, ok := h.ownSession(w, r)
	if !ok {
		return
	}
	// Taken, not got: of two DELETEs at once, one ends the session.
	s := h.take(id)
	if s == nil {
		writeError(w, http.StatusNotFound, "no such session")
		return
	}
	s.Close()
	h.logFor(r, id, s).Info("session ended")
	w.WriteHeader(http.StatusOK)
}
