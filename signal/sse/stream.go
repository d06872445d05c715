package sse

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/reqid"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/signal/resume"
)

// retryMillis is the reconnection delay the stream asks EventSource to use: short,
// because the session waits only for the grace period.
const retryMillis = 500

// serveStream opens a new session, or resumes the one named by Last-Event-ID, and
// writes its events until the session ends or the client goes away.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) {
	s, last, fresh, ok := h.streamSession(w, r)
	if !ok {
		return
	}
	gen, wake, err := s.out.Attach(last)
	if err != nil {
		h.refuseResume(w, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache, no-transform") // no-transform: proxies must not compress or buffer
	hd.Set("X-Accel-Buffering", "no")                 // nginx: do not buffer the response
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	first := []byte("retry: " + strconv.Itoa(retryMillis) + "\n")
	if fresh {
		first = appendSessionEvent(first, s)
	} else {
		first = append(first, ": resumed\n\n"...)
	}
	if write(rc, w, first) != nil {
		h.streamLost(s, gen)
		return
	}
	h.pump(r.Context(), rc, w, s, gen, wake)
}

// streamSession finds the session a GET is for: a new one without Last-Event-ID, the
// one it names otherwise. It answers the request itself when it cannot serve it.
func (h *Handler) streamSession(w http.ResponseWriter, r *http.Request) (s *session, last uint64, fresh, ok bool) {
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		return h.newSession(signal.AccessFrom(r.Context()), reqid.Attrs(r.Context())...), 0, true, true
	}
	id, secret, seq, valid := parseEventID(lastID)
	if !valid {
		httpError(w, http.StatusBadRequest, "bad-request", "Last-Event-ID is not an id this server sent")
		return nil, 0, false, false
	}
	if s = h.lookup(id); s == nil {
		// 204 tells EventSource to stop reconnecting: the session is over.
		w.WriteHeader(http.StatusNoContent)
		return nil, 0, false, false
	}
	if !s.authorized(secret) {
		httpError(w, http.StatusForbidden, "forbidden", "Last-Event-ID does not carry this session's secret")
		return nil, 0, false, false
	}
	return s, seq, false, true
}

func (h *Handler) refuseResume(w http.ResponseWriter, err error) {
	if errors.Is(err, resume.ErrEnded) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	httpError(w, http.StatusGone, "cannot-resume", "cannot resume the session: "+err.Error())
}

// pump writes the session's events as they come, and a keepalive comment when idle,
// until the session ends, another stream takes over, or this one fails.
func (h *Handler) pump(ctx context.Context, rc *http.ResponseController, w http.ResponseWriter,
	s *session, gen uint64, wake <-chan struct{}) {
	keepalive := time.NewTicker(h.opts.Keepalive)
	defer keepalive.Stop()
	var buf []byte
	for {
		select {
		case <-wake:
			events, from, ended, err := s.out.Take(gen)
			if err != nil {
				return // another stream has the session now
			}
			buf = appendEvents(buf[:0], s, events, from)
			if ended {
				buf = appendEndEvent(buf, s.out.EndReason())
			}
			if write(rc, w, buf) != nil {
				h.streamLost(s, gen)
				return
			}
			if ended {
				return
			}
		case <-keepalive.C:
			if write(rc, w, []byte(": keepalive\n\n")) != nil {
				h.streamLost(s, gen)
				return
			}
		case <-ctx.Done():
			h.streamLost(s, gen)
			return
		}
	}
}

// write writes b and flushes it, within writeTimeout. The deadline is lifted once
// the write is done: HTTP/2 resets a stream whose deadline passes even while nothing
// is being written, which would end an idle stream between keepalives.
func write(rc *http.ResponseController, w http.ResponseWriter, b []byte) error {
	// Deadlines are not supported by every ResponseWriter (a test recorder); the
	// write is then bounded by the connection's own timeouts.
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil {
		return err
	}
	_ = rc.SetWriteDeadline(time.Time{})
	return nil
}

// eventID names event seq of s. It carries the secret, so that only the session's
// client can resume it: EventSource sends it back as Last-Event-ID and can send
// nothing else.
func eventID(s *session, seq uint64) string {
	return s.id + ":" + s.secret + ":" + strconv.FormatUint(seq, 10)
}

func parseEventID(v string) (id, secret string, seq uint64, ok bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return "", "", 0, false
	}
	seq, err := strconv.ParseUint(parts[2], 10, 64)
	return parts[0], parts[1], seq, err == nil
}

// sessionEvent is the data of the stream's first event.
type sessionEvent struct {
	Session string `json:"session"`
	Secret  string `json:"secret"`
}

func appendSessionEvent(b []byte, s *session) []byte {
	data, _ := json.Marshal(sessionEvent{Session: s.id, Secret: s.secret})
	b = append(b, "event: session\nid: "+eventID(s, 0)+"\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// appendEvents encodes messages as events; from is the first one's sequence number.
// A message is one line of JSON (encoding/json escapes newlines in strings), so it
// fits one data field.
func appendEvents(b []byte, s *session, msgs [][]byte, from uint64) []byte {
	for i, m := range msgs {
		b = append(b, "id: "+eventID(s, from+uint64(i))+"\ndata: "...)
		b = append(b, m...)
		b = append(b, "\n\n"...)
	}
	return b
}

// appendEndEvent tells the client that the session is over and why; it then stops
// reconnecting.
func appendEndEvent(b []byte, reason error) []byte {
	text := ""
	if reason != nil {
		text = reason.Error()
	}
	data, _ := json.Marshal(map[string]string{"reason": text})
	b = append(b, "event: end\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
