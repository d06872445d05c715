package server

import (
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// The admin API's view of WHEP viewers: listed with their room, removed one by one.

type adminViewer struct {
	ID string `json:"id"`
	// Participant is the one the viewer asked for; empty: the room's first publisher.
	Participant string `json:"participant"`
	// Watching is the participant it receives now; empty: nobody publishes.
	Watching string `json:"watching"`
	Since    string `json:"since"` // RFC 3339
}

func viewersToAdmin(vs []sfu.ViewerInfo) []adminViewer {
	out := make([]adminViewer, 0, len(vs))
	for _, v := range vs {
		out = append(out, adminViewer{ID: string(v.ID), Participant: string(v.Want), Watching: string(v.Watching),
			Since: v.Since.UTC().Format(time.RFC3339Nano)})
	}
	return out
}

// DELETE /v1/admin/rooms/{room}/viewers/{viewer}: the viewer's media stops and its
// WHEP session ends (its resource answers 404 from then on). Answers {"removed": id}.
func (s *Server) adminRemoveViewer(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	room, ok := s.adminRoom(w, r)
	if !ok {
		return
	}
	id := sfu.ViewerID(r.PathValue("viewer"))
	if err := room.RemoveViewer(id); err != nil {
		writeAdminError(w, err)
		return
	}
	s.log.Info("admin: viewer removed", "room", room.ID(), "viewer", id)
	writeJSON(w, http.StatusOK, map[string]any{"removed": id})
}
