package whip

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// Limits on what a client may send.
const (
	// maxSDPSize bounds an offer: a browser's offer with audio and video is 5-10 KiB,
	// and the native protocol allows 192 KiB for rooms of many tracks; a WHIP or
	// WHEP offer has two m-lines.
	maxSDPSize = 64 << 10
	// maxFragSize bounds a trickle PATCH: a few candidates, or the ICE credentials of
	// a restart.
	maxFragSize = 16 << 10
)

const sdpFragType = "application/trickle-ice-sdpfrag"

// hasContentType reports whether r's body is of media type want.
func hasContentType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(mt, want)
}

// readBody reads r's body up to limit bytes; past it, it answers 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "cannot read the body")
		return nil, false
	}
	return b, true
}

// writeError answers with status and a one-line explanation.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// writeMediaError maps an error of the media core to a status: the one place that
// decides it.
func writeMediaError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, sfu.ErrInvalidSDP), errors.Is(err, sfu.ErrInvalidCandidate), errors.Is(err, sfu.ErrTooManyTracks):
		status = http.StatusBadRequest
	case errors.Is(err, sfu.ErrRoomFull), errors.Is(err, sfu.ErrTooManyRooms), errors.Is(err, sfu.ErrTooManyViewers):
		status = http.StatusServiceUnavailable
	case errors.Is(err, sfu.ErrNoRoom), errors.Is(err, sfu.ErrNoParticipant):
		status = http.StatusNotFound
	case errors.Is(err, sfu.ErrShuttingDown), errors.Is(err, sfu.ErrClosed):
		status = http.StatusServiceUnavailable
	case errors.Is(err, directory.ErrModeMismatch):
		status = http.StatusConflict // a mesh room has that name
	}
	writeError(w, status, err.Error())
}

// cors lets pages of any origin use the endpoints, as RFC 9725 section 4.9 advises:
// they are authorized by Bearer token, not by cookies.
func (h *Handler) cors(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Access-Control-Expose-Headers", "Location, Link, ETag, Accept-Patch")
}

// options answers a CORS preflight or an OPTIONS request with the allowed methods
// and, on the POST endpoints, the ICE servers.
func (h *Handler) options(methods string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.cors(w)
		hdr := w.Header()
		hdr.Set("Allow", methods)
		hdr.Set("Access-Control-Allow-Methods", methods)
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		hdr.Set("Access-Control-Max-Age", "86400")
		if strings.Contains(methods, "POST") {
			hdr.Set("Accept-Post", "application/sdp")
			h.linkICEServers(w, "", false)
		} else {
			hdr.Set("Accept-Patch", sdpFragType)
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// linkICEServers announces the configured STUN/TURN servers (RFC 9725 section 4.6),
// for who; those with credentials only when withCredentials (an admitted request).
func (h *Handler) linkICEServers(w http.ResponseWriter, who string, withCredentials bool) {
	servers := h.cfg.ICEServers
	if h.cfg.ICEServersFor != nil {
		servers = h.cfg.ICEServersFor(who)
	}
	for _, s := range servers {
		if s.Username != "" && !withCredentials {
			continue
		}
		for _, url := range s.URLs {
			link := "<" + url + `>; rel="ice-server"`
			if s.Username != "" {
				link += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", s.Username, fmt.Sprint(s.Credential))
			}
			w.Header().Add("Link", link)
		}
	}
}

// owned reports whether the request acting on s comes from s's owner, when the
// handler checks owners; otherwise it answers 403.
func (h *Handler) owned(w http.ResponseWriter, r *http.Request, s *session) bool {
	if !h.cfg.OwnerTokens {
		return true
	}
	a := signal.AccessFrom(r.Context())
	if a.Identity != s.owner.Identity || (a.Room != "" && a.Room != s.room) {
		writeError(w, http.StatusForbidden, "this session belongs to another identity")
		return false
	}
	return true
}
