package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// Join tokens: with API keys configured, every request that opens a signaling session
// carries a token (Authorization: Bearer, or ?token=), checked here before any room or
// participant exists. See docs/auth.md.

// tokens wraps h so that a request without a valid join token is refused with 401;
// an accepted request carries the token's access in its context for the transport.
// The room checked is the "room" query parameter: the native protocol names its room
// in the join message, after the upgrade, and the session checks it again there.
// resumable is for the SSE stream: a request with Last-Event-ID resumes a session,
// and the event id carries the session's secret, which the SSE handler checks; the
// token may have expired since, the session it opened has not. Without API keys it
// returns h.
func (s *Server) tokens(h http.Handler, resumable bool) http.Handler {
	if s.verifier == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if resumable && r.Header.Get("Last-Event-ID") != "" {
			h.ServeHTTP(w, r)
			return
		}
		a, err := s.joinAccess(r, r.URL.Query().Get("room"))
		if err != nil {
			refuseToken(w, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(signal.WithAccess(r.Context(), a)))
	})
}

// joinAccess verifies r's join token for room (empty: checked at join) and returns
// what it allows.
func (s *Server) joinAccess(r *http.Request, room string) (signal.Access, error) {
	c, err := s.verifier.Verify(auth.FromRequest(r))
	if err != nil {
		return signal.Access{}, err
	}
	switch {
	case !c.Grants.Join:
		return signal.Access{}, &auth.Error{Reason: "token does not grant join"}
	case c.Room == "":
		return signal.Access{}, &auth.Error{Reason: "token names no room"}
	case room != "" && !c.AllowsRoom(room):
		return signal.Access{}, &auth.Error{Reason: "token is for room " + quote(c.Room)}
	}
	grants, err := mediaGrants(c.Grants)
	if err != nil {
		return signal.Access{}, err
	}
	a := signal.Access{Identity: c.Identity(), Name: c.Name, Grants: grants, NoNewMeshRooms: c.Mode != auth.ModeMesh}
	if c.Room != auth.AnyRoom {
		a.Room = sfu.RoomID(c.Room)
	}
	return a, nil
}

// mediaGrants are the media core's form of a token's grants.
func mediaGrants(g auth.Grants) (*sfu.Grants, error) {
	out := &sfu.Grants{Publish: g.Publish, Subscribe: g.Subscribe}
	for _, name := range g.PublishSources {
		src, ok := sfu.ParseSource(name)
		if !ok {
			// Ignoring it could widen an empty list to every source.
			return nil, &auth.Error{Reason: "token names an unknown publish source " + quote(name)}
		}
		out.Sources = append(out.Sources, src)
	}
	return out, nil
}

// admitCompat is the sfu-ws handler's admission: the same token check, for the room
// the connection names (or the default room).
func (s *Server) admitCompat(w http.ResponseWriter, r *http.Request, room sfu.RoomID) (sfu.JoinOptions, bool) {
	a, err := s.joinAccess(r, string(room))
	if err != nil {
		refuseToken(w, err)
		return sfu.JoinOptions{}, false
	}
	return sfu.JoinOptions{Identity: a.Identity, Grants: a.Grants}, true
}

// authorizeWHIP checks the Bearer token of a WHIP (publish) or WHEP (watch) request.
func (s *Server) authorizeWHIP(token string, room sfu.RoomID, publish bool) error {
	c, err := s.verifier.Verify(token)
	if err != nil {
		return err
	}
	switch {
	case !c.Grants.Join:
		return &auth.Error{Reason: "token does not grant join"}
	case !c.AllowsRoom(string(room)):
		return &auth.Error{Reason: "token is for room " + quote(c.Room)}
	case publish && !c.Grants.Publish:
		return &auth.Error{Reason: "token does not grant publish"}
	case publish && !(c.Grants.MaySend(auth.SourceCamera) && c.Grants.MaySend(auth.SourceMicrophone)):
		// A WHIP client's tracks are published as camera and microphone.
		return &auth.Error{Reason: "token does not grant publishing camera and microphone"}
	case !publish && !c.Grants.Subscribe:
		return &auth.Error{Reason: "token does not grant subscribe"}
	}
	return nil
}

// tokenInfo answers GET /v1/token: whether the request's token would be accepted
// for the "room" query parameter, and what it allows. The browser client asks it
// before connecting, because a refused WebSocket or EventSource does not let a page
// read the reason.
func (s *Server) tokenInfo(w http.ResponseWriter, r *http.Request) {
	if s.verifier == nil {
		writeJSON(w, http.StatusOK, map[string]any{"required": false})
		return
	}
	if _, err := s.joinAccess(r, r.URL.Query().Get("room")); err != nil {
		refuseToken(w, err)
		return
	}
	c, _ := s.verifier.Verify(auth.FromRequest(r)) // verified by joinAccess
	writeJSON(w, http.StatusOK, map[string]any{
		"required": true, "room": c.Room, "identity": c.Identity(), "name": c.Name,
		"grants": c.Grants, "expires": c.ExpiresAt.Time.UTC().Format(time.RFC3339),
	})
}

// refuseToken answers 401 with the token's refusal reason.
func refuseToken(w http.ResponseWriter, err error) {
	reason := "invalid token"
	var e *auth.Error
	if errors.As(err, &e) {
		reason = e.Reason
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
	writeJSONError(w, http.StatusUnauthorized, "unauthorized", reason)
}

// writeJSONError answers status with {"error": {"code": ..., "message": ...}}.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"cannot encode the answer"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// quote shortens and quotes text from a token for a reason.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
