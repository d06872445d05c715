package whip

import (
	"net/http"
)

// patch answers PATCH on a resource: trickled ICE candidates in an sdpfrag
// (RFC 8840). An ICE restart (If-Match: "*", RFC 9725 section 4.3.2) is refused with
// 422: the client starts a new session instead. A trickle whose If-Match names
// another session's entity tag is refused with 412.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	h.cors(w)
	s := h.get(r.PathValue("id"))
	if s == nil {
		writeError(w, http.StatusNotFound, "no such session")
		return
	}
	if !hasContentType(r, sdpFragType) {
		writeError(w, http.StatusUnsupportedMediaType, "a PATCH must be "+sdpFragType)
		return
	}
	switch match := r.Header.Get("If-Match"); {
	case match == "*":
		writeError(w, http.StatusUnprocessableEntity, "ICE restarts are not supported: start a new session")
		return
	case match != "" && match != etag(s):
		writeError(w, http.StatusPreconditionFailed, "If-Match does not match the session's entity tag")
		return
	}
	body, ok := readBody(w, r, maxFragSize)
	if !ok {
		return
	}
	frag, err := parseFrag(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, c := range frag.candidates {
		if err := s.AddCandidate(c); err != nil {
			writeMediaError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// delete ends a session.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	h.cors(w)
	s := h.take(r.PathValue("id"))
	if s == nil {
		writeError(w, http.StatusNotFound, "no such session")
		return
	}
	s.Close()
	h.log.Info("session ended", "resource", s.ID())
	w.WriteHeader(http.StatusOK)
}

// etag is the entity tag of a session: constant, since its ICE credentials never
// change.
func etag(s resource) string { return `"` + s.ID() + `"` }
