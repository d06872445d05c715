package server

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/switchboard-rtc/switchboard/auto"
	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// The admin API on auto rooms: an auto room is listed with mode "auto" and the mode
// it has now ("current"); its participants are those of both its sides, by id (one
// may be in both during a switch). Removing a participant or closing the room acts
// on both sides. Tracks are muted on its SFU side.

// autoSides are the sides of the auto room name, nil where it has none; ok is false
// when there is no such auto room.
func (s *Server) autoSides(name string) (r *auto.Room, sr *sfu.Room, mr *mesh.Room, ok bool) {
	r = s.auto.rooms.Room(roster.RoomID(name))
	if r == nil {
		return nil, nil, nil, false
	}
	return r, s.auto.sfu.Room(sfu.RoomID(name)), s.auto.mesh.Room(mesh.RoomID(name)), true
}

// adminAutoRooms lists the auto rooms c manages.
func (s *Server) adminAutoRooms(c func(string) bool) []adminRoom {
	var out []adminRoom
	for _, r := range s.auto.rooms.List() {
		if name := string(r.ID()); c(name) {
			st := r.State()
			out = append(out, adminRoom{Name: name, Mode: directory.Auto, Current: st.Mode, Participants: st.Seats})
		}
	}
	return out
}

// adminAutoParticipants are the participants of both sides of an auto room, by id,
// with the tracks they publish on its SFU side.
func adminAutoParticipants(sr *sfu.Room, mr *mesh.Room) []adminParticipant {
	byID := map[string]adminParticipant{}
	if mr != nil {
		for _, p := range mr.Peers() {
			byID[string(p.ID)] = adminParticipant{ID: string(p.ID), Identity: p.Identity, Name: p.Name, Tracks: []adminTrack{}}
		}
	}
	if sr != nil {
		for _, p := range sr.Participants() {
			ap := adminParticipant{ID: string(p.ID), Identity: p.Identity, Name: p.Name, Tracks: []adminTrack{}}
			for _, t := range p.Tracks {
				ap.Tracks = append(ap.Tracks, trackToAdmin(t))
			}
			byID[ap.ID] = ap
		}
	}
	out := slices.Collect(func(yield func(adminParticipant) bool) {
		for _, p := range byID {
			if !yield(p) {
				return
			}
		}
	})
	slices.SortFunc(out, func(a, b adminParticipant) int {
		return cmp.Or(cmp.Compare(a.Identity, b.Identity), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// adminAuto answers an admin call on an auto room: GET, DELETE of the room, DELETE
// of a participant, mute. It reports false, having answered nothing, when the room
// of the path is not an auto room.
func (s *Server) adminAuto(w http.ResponseWriter, r *http.Request, call string) bool {
	name := r.PathValue("room")
	room, sr, mr, ok := s.autoSides(name)
	if !ok {
		return false
	}
	switch call {
	case "get":
		body := map[string]any{"name": name, "mode": directory.Auto, "current": room.State().Mode,
			"participants": adminAutoParticipants(sr, mr), "viewers": []adminViewer{}}
		if sr != nil {
			body["viewers"] = viewersToAdmin(sr.Viewers())
		}
		writeJSON(w, http.StatusOK, body)
	case "close":
		removed := adminAutoParticipants(sr, mr)
		if sr != nil {
			sr.Close(sfu.ErrRoomClosed)
		}
		if mr != nil {
			mr.Close(mesh.ErrRoomClosed)
		}
		s.requestLog(r).Info("admin: room closed", "room", name, "mode", directory.Auto, "removed", len(removed))
		writeJSON(w, http.StatusOK, map[string]any{"name": name, "removed": len(removed)})
	case "remove":
		id := r.PathValue("participant")
		found := false
		if sr != nil && sr.Remove(sfu.ParticipantID(id), sfu.ErrRemoved) == nil {
			found = true
		}
		if mr != nil && mr.Remove(mesh.PeerID(id), mesh.ErrRemoved) == nil {
			found = true
		}
		if !found {
			writeAdminError(w, sfu.ErrNoParticipant)
			return true
		}
		s.requestLog(r).Info("admin: participant removed", "room", name, "mode", directory.Auto, "participant", id)
		writeJSON(w, http.StatusOK, map[string]any{"removed": id})
	}
	return true
}
