package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// Join tokens: with API keys configured, every request to an entry point carries a
// token (Authorization: Bearer, or ?token=), checked by admission (admit.go) before
// any room or participant exists. See docs/auth.md.

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
	a := signal.Access{Identity: c.Identity(), Name: c.Name, Grants: grants, NoNewMeshRooms: c.Mode != auth.ModeMesh,
		NoNewAutoRooms: c.Mode != auth.ModeMesh && c.Mode != auth.ModeAuto}
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

// admitCompat is the sfu-ws handler's admission: what admission found in the
// request's token (nothing without API keys).
func (s *Server) admitCompat(_ http.ResponseWriter, r *http.Request, _ sfu.RoomID) (sfu.JoinOptions, bool) {
	a := signal.AccessFrom(r.Context())
	return sfu.JoinOptions{Identity: a.Identity, Grants: a.Grants}, true
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
		WriteRefusal(w, tokenRefusal(err))
		return
	}
	c, _ := s.verifier.Verify(auth.FromRequest(r)) // verified by joinAccess
	writeJSON(w, http.StatusOK, map[string]any{
		"required": true, "room": c.Room, "identity": c.Identity(), "name": c.Name,
		"grants": c.Grants, "expires": c.ExpiresAt.Time.UTC().Format(time.RFC3339),
	})
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
