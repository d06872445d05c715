package server

import (
	"errors"
	"net/http"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// The admin API, under /v1/admin/: JSON in and out, errors as
// {"error": {"code", "message"}}. Every call needs a token with the admin grant; a
// token whose room claim names one room manages that room only. Without API keys the
// API is disabled (403, code admin-disabled). See docs/auth.md.

func (s *Server) registerAdmin() {
	s.mux.Handle("GET /v1/admin/rooms", s.admin(s.adminListRooms))
	s.mux.Handle("GET /v1/admin/rooms/{room}", s.admin(s.adminGetRoom))
	s.mux.Handle("DELETE /v1/admin/rooms/{room}", s.admin(s.adminCloseRoom))
	s.mux.Handle("DELETE /v1/admin/rooms/{room}/participants/{participant}", s.admin(s.adminRemove))
	s.mux.Handle("DELETE /v1/admin/rooms/{room}/viewers/{viewer}", s.admin(s.adminRemoveViewer))
	s.mux.Handle("POST /v1/admin/rooms/{room}/tracks/{track}/mute", s.admin(s.adminMute(true)))
	s.mux.Handle("POST /v1/admin/rooms/{room}/tracks/{track}/unmute", s.admin(s.adminMute(false)))
}

// adminFunc is an admin call; claims is its verified token.
type adminFunc func(w http.ResponseWriter, r *http.Request, claims *auth.Claims)

// admin checks the request's token for the admin grant and, for calls on one room,
// its room claim.
func (s *Server) admin(f adminFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.verifier == nil {
			writeJSONError(w, http.StatusForbidden, "admin-disabled",
				"the admin API needs an API key: start the server with --api-key and --api-secret")
			return
		}
		c, err := s.verifier.Verify(auth.FromRequest(r))
		if err != nil {
			refuseToken(w, err)
			return
		}
		if !c.Grants.Admin {
			writeJSONError(w, http.StatusForbidden, "forbidden", "token does not grant admin")
			return
		}
		if room := r.PathValue("room"); room != "" && !adminAllows(c, room) {
			writeJSONError(w, http.StatusForbidden, "forbidden", "token is for room "+quote(c.Room))
			return
		}
		f(w, r, c)
	})
}

// adminAllows reports whether an admin token manages room: every room when its room
// claim is empty or "*".
func adminAllows(c *auth.Claims, room string) bool { return c.Room == "" || c.AllowsRoom(room) }

type adminRoom struct {
	Name         string `json:"name"`
	Participants int    `json:"participants"`
	Viewers      int    `json:"viewers,omitempty"` // WHEP viewers
}

type adminParticipant struct {
	ID       string       `json:"id"`
	Identity string       `json:"identity,omitempty"`
	Name     string       `json:"name"`
	Tracks   []adminTrack `json:"tracks"`
}

type adminTrack struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Source string `json:"source"`
	Muted  bool   `json:"muted"`
}

// GET /v1/admin/rooms: {"rooms": [{"name", "participants"}]}.
func (s *Server) adminListRooms(w http.ResponseWriter, _ *http.Request, c *auth.Claims) {
	rooms := []adminRoom{}
	for _, room := range s.rooms.List() {
		if adminAllows(c, string(room.ID())) {
			rooms = append(rooms, adminRoom{Name: string(room.ID()), Participants: len(room.Participants()),
				Viewers: len(room.Viewers())})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
}

// GET /v1/admin/rooms/{room}: {"name", "participants": [{"id", "identity", "name",
// "tracks": [{"id", "kind", "source", "muted"}]}], "viewers": [{"id", "participant",
// "watching", "since"}]}.
func (s *Server) adminGetRoom(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	room, ok := s.adminRoom(w, r)
	if !ok {
		return
	}
	members := []adminParticipant{}
	for _, p := range room.Participants() {
		ap := adminParticipant{ID: string(p.ID), Identity: p.Identity, Name: p.Name, Tracks: []adminTrack{}}
		for _, t := range p.Tracks {
			ap.Tracks = append(ap.Tracks, trackToAdmin(t))
		}
		members = append(members, ap)
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": room.ID(), "participants": members,
		"viewers": viewersToAdmin(room.Viewers())})
}

// DELETE /v1/admin/rooms/{room}: everyone is removed (told room-closed).
func (s *Server) adminCloseRoom(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	room, ok := s.adminRoom(w, r)
	if !ok {
		return
	}
	n := room.Close(sfu.ErrRoomClosed)
	s.log.Info("admin: room closed", "room", room.ID(), "removed", n)
	writeJSON(w, http.StatusOK, map[string]any{"name": room.ID(), "removed": n})
}

// DELETE /v1/admin/rooms/{room}/participants/{participant}: the participant is told
// removed and disconnected; the others see it leave.
func (s *Server) adminRemove(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	room, ok := s.adminRoom(w, r)
	if !ok {
		return
	}
	id := sfu.ParticipantID(r.PathValue("participant"))
	if err := room.Remove(id, sfu.ErrRemoved); err != nil {
		writeAdminError(w, err)
		return
	}
	s.log.Info("admin: participant removed", "room", room.ID(), "participant", id)
	writeJSON(w, http.StatusOK, map[string]any{"removed": id})
}

// POST /v1/admin/rooms/{room}/tracks/{track}/mute (and /unmute): forwarding stops
// (resumes) and the room is told with track-muted. Answers {"track": {...}}.
func (s *Server) adminMute(muted bool) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
		room, ok := s.adminRoom(w, r)
		if !ok {
			return
		}
		info, err := room.MuteTrack(sfu.TrackID(r.PathValue("track")), muted)
		if err != nil {
			writeAdminError(w, err)
			return
		}
		s.log.Info("admin: track muted", "room", room.ID(), "track", info.ID, "muted", muted)
		writeJSON(w, http.StatusOK, map[string]any{"track": trackToAdmin(info)})
	}
}

// adminRoom finds the room of the path; it answers 404 itself when there is none.
func (s *Server) adminRoom(w http.ResponseWriter, r *http.Request) (*sfu.Room, bool) {
	name := r.PathValue("room")
	room := s.rooms.Room(sfu.RoomID(name))
	if room == nil {
		writeJSONError(w, http.StatusNotFound, "not-found", "no room "+quote(name))
		return nil, false
	}
	return room, true
}

// writeAdminError maps an error of the media core to the admin API's answer.
func writeAdminError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, sfu.ErrNoParticipant):
		writeJSONError(w, http.StatusNotFound, "not-found", "no such participant in the room")
	case errors.Is(err, sfu.ErrNoViewer):
		writeJSONError(w, http.StatusNotFound, "not-found", "no such viewer in the room")
	case errors.Is(err, sfu.ErrNoTrack):
		writeJSONError(w, http.StatusNotFound, "not-found", "no such track in the room")
	case errors.Is(err, sfu.ErrNoRoom):
		writeJSONError(w, http.StatusNotFound, "not-found", "the room has closed")
	default:
		writeJSONError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

func trackToAdmin(t sfu.TrackInfo) adminTrack {
	return adminTrack{ID: string(t.ID), Kind: t.Kind.String(), Source: string(t.Source), Muted: t.Muted}
}
