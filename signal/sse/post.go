package sse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
)

// servePost hands one message to the session named by the path, if the request
// carries that session's secret. Another session is never touched.
func (h *Handler) servePost(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("session")
	if id == "" {
		id = path.Base(r.URL.Path)
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || secret == "" {
		httpError(w, http.StatusUnauthorized, "unauthorized", "a POST needs \"Authorization: Bearer <session secret>\"")
		return
	}
	s := h.lookup(id)
	if s == nil {
		httpError(w, http.StatusNotFound, "no-session", "no such session (it has ended, or never existed)")
		return
	}
	if !s.authorized(secret) {
		httpError(w, http.StatusForbidden, "forbidden", "this secret is not the session's: a client can only post to its own session")
		return
	}
	// One message per POST, bounded like a WebSocket frame.
	limit := h.cfg.Limits.MessageSize()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		httpError(w, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("a message is at most %d bytes", limit))
		return
	case err != nil:
		httpError(w, http.StatusBadRequest, "bad-request", "cannot read the body")
		return
	}
	if !s.sig.Deliver(body) {
		httpError(w, http.StatusNotFound, "no-session", "the session has ended")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// httpError answers with status and a JSON body {"code", "message"}, like the
// protocol's error messages.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"code": code, "message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
