package server

import (
	"cmp"
	"errors"
	"net/http"
	"slices"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// The admin API, under /v1/admin/: JSON in and out, errors as
// {"error": {"code", "message"}}. Every call needs a token with the admin grant; a
// token whose room claim names one room manages that room only. Without API keys the
// API is disabled (403, code admin-disabled). Rooms of both modes are listed, closed
// and rid of participants alike; tracks exist in SFU rooms only. See docs/auth.md.

func (s *Server) registerAdmin() {
	s.adminRoute("GET /v1/admin/rooms", s.adminListRooms)
	s.adminRoute("GET /v1/admin/rooms/{room}", s.adminGetRoom)
	s.adminRoute("DELETE /v1/admin/rooms/{room}", s.adminCloseRoom)
	s.adminRoute("GET /v1/admin/rooms/{room}/participants/{participant}", s.adminGetParticipant)
	s.adminRoute("DELETE /v1/admin/rooms/{room}/participants/{participant}", s.adminRemove)
	s.adminRoute("DELETE /v1/admin/rooms/{room}/viewers/{viewer}", s.adminRemoveViewer)
	s.adminRoute("POST /v1/admin/rooms/{room}/tracks/{track}/mute", s.adminMute(true))
	s.adminRoute("POST /v1/admin/rooms/{room}/tracks/{track}/unmute", s.adminMute(false))
	s.adminRoute("GET /v1/admin/cluster", s.adminClusterView) // clusteradmin.go
}

// adminRoute registers an admin call behind admission, which checks the admin
// grant and, for calls on one room, the token's room claim.
func (s *Server) adminRoute(pattern string, f adminFunc) {
	s.handle(route{pattern: pattern, entry: admin, origin: true}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f(w, r, adminClaimsFrom(r.Context()))
	}))
}

// adminFunc is an admin call; claims is its verified token.
type adminFunc func(w http.ResponseWriter, r *http.Request, claims *auth.Claims)

// adminAllows reports whether an admin token manages room: every room when its room
// claim is empty or "*".
func adminAllows(c *auth.Claims, room string) bool { return c.Room == "" || c.AllowsRoom(room) }

type adminRoom struct {
	Name         string         `json:"name"`
	Mode         directory.Mode `json:"mode"`
	Current      directory.Mode `json:"current,omitempty"` // an auto room's mode now
	Participants int            `json:"participants"`
	Viewers      int            `json:"viewers,omitempty"` // WHEP viewers
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

// GET /v1/admin/rooms: {"rooms": [{"name", "mode", "participants"}]}, by name.
func (s *Server) adminListRooms(w http.ResponseWriter, _ *http.Request, c *auth.Claims) {
	rooms := []adminRoom{}
	for _, room := range s.rooms.List() {
		if adminAllows(c, string(room.ID())) {
			rooms = append(rooms, adminRoom{Name: string(room.ID()), Mode: directory.SFU, Participants: len(room.Participants()),
				Viewers: len(room.Viewers())})
		}
	}
	for _, room := range s.mesh.List() {
		if adminAllows(c, string(room.ID())) {
			rooms = append(rooms, adminRoom{Name: string(room.ID()), Mode: directory.Mesh, Participants: len(room.Peers())})
		}
	}
	rooms = append(rooms, s.adminAutoRooms(func(name string) bool { return adminAllows(c, name) })...)
	slices.SortFunc(rooms, func(a, b adminRoom) int { return cmp.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
}

// GET /v1/admin/rooms/{room}: {"name", "mode", "participants": [{"id", "identity",
// "name", "tracks": [{"id", "kind", "source", "muted"}]}], "viewers": [{"id",
// "participant", "watching", "since"}]}; a mesh room's peers have no tracks on the
// server, and it has no viewers.
func (s *Server) adminGetRoom(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	if s.adminAuto(w, r, "get") {
		return
	}
	if mr := s.adminMeshRoom(r); mr != nil {
		peers := []adminParticipant{}
		for _, p := range mr.Peers() {
			peers = append(peers, adminParticipant{ID: string(p.ID), Identity: p.Identity, Name: p.Name, Tracks: []adminTrack{}})
		}
		slices.SortFunc(peers, func(a, b adminParticipant) int {
			return cmp.Or(cmp.Compare(a.Identity, b.Identity), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
		})
		writeJSON(w, http.StatusOK, map[string]any{"name": mr.ID(), "mode": directory.Mesh, "participants": peers})
		return
	}
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
	writeJSON(w, http.StatusOK, map[string]any{"name": room.ID(), "mode": directory.SFU, "participants": members,
		"viewers": viewersToAdmin(room.Viewers())})
}

// DELETE /v1/admin/rooms/{room}: everyone is removed (told room-closed).
func (s *Server) adminCloseRoom(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	if s.adminAuto(w, r, "close") {
		return
	}
	if mr := s.adminMeshRoom(r); mr != nil {
		n := mr.Close(mesh.ErrRoomClosed)
		s.requestLog(r).Info("admin: room closed", "room", mr.ID(), "mode", directory.Mesh, "removed", n)
		writeJSON(w, http.StatusOK, map[string]any{"name": mr.ID(), "removed": n})
		return
	}
	room, ok := s.adminRoom(w, r)
	if !ok {
		return
	}
	n := room.Close(sfu.ErrRoomClosed)
	s.requestLog(r).Info("admin: room closed", "room", room.ID(), "removed", n)
	writeJSON(w, http.StatusOK, map[string]any{"name": room.ID(), "removed": n})
}

// DELETE /v1/admin/rooms/{room}/participants/{participant}: the participant is told
// removed and disconnected; the others see it leave.
func (s *Server) adminRemove(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	if s.adminAuto(w, r, "remove") {
		return
	}
	if mr := s.adminMeshRoom(r); mr != nil {
		id := mesh.PeerID(r.PathValue("participant"))
		if err := mr.Remove(id, mesh.ErrRemoved); err != nil {
			writeAdminError(w, err)
			return
		}
		s.requestLog(r).Info("admin: participant removed", "room", mr.ID(), "mode", directory.Mesh, "participant", id)
		writeJSON(w, http.StatusOK, map[string]any{"removed": id})
		return
	}
	room, ok := s.adminRoom(w, r)
	if !ok {
		return
	}
	id := sfu.ParticipantID(r.PathValue("participant"))
	if err := room.Remove(id, sfu.ErrRemoved); err != nil {
		writeAdminError(w, err)
		return
	}
	s.requestLog(r).Info("admin: participant removed", "room", room.ID(), "participant", id)
	writeJSON(w, http.StatusOK, map[string]any{"removed": id})
}

// POST /v1/admin/rooms/{room}/tracks/{track}/mute (and /unmute): forwarding stops
// (resumes) and the room is told with track-muted. Answers {"track": {...}}.
func (s *Server) adminMute(muted bool) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
		if s.adminMeshRoom(r) != nil {
			writeJSONError(w, http.StatusConflict, "wrong-mode",
				"the room is a mesh room: its media flows between the peers, not through the server")
			return
		}
		room, ok := s.adminRoom(w, r)
		if !ok {
			return
		}
		info, err := room.MuteTrack(sfu.TrackID(r.PathValue("track")), muted)
		if err != nil {
			writeAdminError(w, err)
			return
		}
		s.requestLog(r).Info("admin: track muted", "room", room.ID(), "track", info.ID, "muted", muted)
		writeJSON(w, http.StatusOK, map[string]any{"track": trackToAdmin(info)})
	}
}

// adminRoom finds the SFU room of the path (an auto room's SFU side, when it has
// one); it answers 404 itself when there is none.
func (s *Server) adminRoom(w http.ResponseWriter, r *http.Request) (*sfu.Room, bool) {
	name := r.PathValue("room")
	room := s.rooms.Room(sfu.RoomID(name))
	if room == nil {
		room = s.auto.sfu.Room(sfu.RoomID(name))
	}
	if room == nil {
		writeJSONError(w, http.StatusNotFound, "not-found", "no room "+quote(name))
		return nil, false
	}
	return room, true
}

// adminMeshRoom is the mesh room of the path, or nil when there is none.
func (s *Server) adminMeshRoom(r *http.Request) *mesh.Room {
	return s.mesh.Room(mesh.RoomID(r.PathValue("room")))
}

// writeAdminError maps an error of the media core to the admin API's answer.
func writeAdminError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, sfu.ErrNoParticipant), errors.Is(err, mesh.ErrUnknownPeer):
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
