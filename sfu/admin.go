package sfu

import (
	"slices"
	"time"
)

// What an administrator may do to rooms: list them, take a participant or a viewer
// out, mute a track, close a room. Each runs on the room's operation queue like a join or a leave,
// so the room's members see it in order with everything else.

// List returns the rooms that exist now, by name.
func (rs *Rooms) List() []*Room { return rs.registry.List() }

// Participant returns the participant id of the room, nil when it has none by that
// id (or the room has gone).
func (r *Room) Participant(id ParticipantID) *Participant {
	var p *Participant
	r.ops.do(func() {
		if m := r.find(id); m != nil {
			p = m.p
		}
	})
	return p
}

// Remove takes the participant id out of the room for reason (ErrRemoved, say): the
// others are told it left, and its owner is told why through RoomObserver.Removed
// and ends it. It returns ErrNoParticipant when id is not in the room.
func (r *Room) Remove(id ParticipantID, reason error) error {
	found := false
	if !r.ops.do(func() { found = r.members.Remove(id, reason) }) {
		return ErrNoRoom
	}
	if !found {
		return ErrNoParticipant
	}
	return nil
}

// Close removes every participant for reason (ErrRoomClosed): each owner is told
// through RoomObserver.Removed. It ends every viewer too, as RemoveViewer does. The room
// itself goes away once they have all left, as after any last leave. It returns how
// many participants were removed.
func (r *Room) Close(reason error) int {
	n := 0
	r.ops.do(func() {
		n = r.members.RemoveAll(reason)
		viewers := len(r.viewers)
		for len(r.viewers) > 0 {
			r.removeViewerOp(r.viewers[0])
		}
		r.log.Info("room closed by an administrator", "removed", n, "viewers", viewers)
	})
	return n
}

// ViewerInfo describes a viewer for an administrator.
type ViewerInfo struct {
	ID ViewerID
	// Want is the participant the viewer asked for; empty when it watches the
	// room's first publisher.
	Want ParticipantID
	// Watching is the participant it receives now; empty when none.
	Watching ParticipantID
	// Since is when the viewer was added.
	Since time.Time
}

// Viewers describes the room's viewers now, oldest first.
func (r *Room) Viewers() []ViewerInfo {
	var out []ViewerInfo
	r.ops.do(func() {
		for _, v := range r.viewers {
			out = append(out, ViewerInfo{ID: v.id, Want: v.want, Watching: v.Watching(), Since: v.since})
		}
	})
	return out
}

// RemoveViewer stops the viewer id and tells its owner to close it (the ended
// function given to Watch). It returns ErrNoViewer when id is not a viewer of the
// room.
func (r *Room) RemoveViewer(id ViewerID) error {
	found := false
	if !r.ops.do(func() {
		if i := slices.IndexFunc(r.viewers, func(v *Viewer) bool { return v.id == id }); i >= 0 {
			found = true
			r.removeViewerOp(r.viewers[i])
		}
	}) {
		return ErrNoRoom
	}
	if !found {
		return ErrNoViewer
	}
	return nil
}

// removeViewerOp takes v out of the room and tells its owner to close it. It runs on
// the operation queue.
func (r *Room) removeViewerOp(v *Viewer) {
	v.log.Info("viewer removed by an administrator")
	r.dropViewer(v)
	v.end()
}

// MuteTrack stops (muted) or resumes forwarding the track id to everyone, subscribers
// and viewers, and tells everyone in the room, its publisher included, through
// TrackObserver.TrackMuted. Resuming asks the publisher for a keyframe. It returns the
// track's description, or ErrNoTrack.
func (r *Room) MuteTrack(id TrackID, muted bool) (TrackInfo, error) {
	var info TrackInfo
	found := false
	if !r.ops.do(func() {
		t := r.findTrack(id)
		if t == nil {
			return
		}
		found = true
		changed := t.setMuted(muted)
		info = t.Info()
		if !changed {
			return
		}
		t.log.Info("track muted by an administrator", "muted", muted)
		for m := range r.members.All() {
			tellTracks(m.p, "track-muted notice", func(o TrackObserver) { o.TrackMuted(info) })
		}
	}) {
		return TrackInfo{}, ErrNoRoom
	}
	if !found {
		return TrackInfo{}, ErrNoTrack
	}
	return info, nil
}

// findTrack is the published track id. It runs on the operation queue.
func (r *Room) findTrack(id TrackID) *Track {
	for m := range r.members.All() {
		for _, t := range m.tracks {
			if t.info.ID == id {
				return t
			}
		}
	}
	return nil
}
