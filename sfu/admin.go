package sfu

import (
	"cmp"
	"slices"
)

// What an administrator may do to rooms: list them, take a participant out, mute a
// track, close a room. Each runs on the room's operation queue like a join or a leave,
// so the room's members see it in order with everything else.

// List returns the rooms that exist now, by name.
func (rs *Rooms) List() []*Room {
	rs.mu.Lock()
	out := make([]*Room, 0, len(rs.rooms))
	for _, r := range rs.rooms {
		out = append(out, r)
	}
	rs.mu.Unlock()
	slices.SortFunc(out, func(a, b *Room) int { return cmp.Compare(a.id, b.id) })
	return out
}

// Remove takes the participant id out of the room for reason (ErrRemoved, say): the
// others are told it left, and its owner is told why through Observer.Removed and ends
// it. It returns ErrNoParticipant when id is not in the room.
func (r *Room) Remove(id ParticipantID, reason error) error {
	found := false
	if !r.ops.do(func() {
		if m := r.find(id); m != nil {
			found = true
			m.p.log.Info("participant removed", "reason", reason)
			r.removeOp(m.p, reason)
		}
	}) {
		return ErrNoRoom
	}
	if !found {
		return ErrNoParticipant
	}
	return nil
}

// Close removes every participant for reason (ErrRoomClosed): each owner is told
// through Observer.Removed. The room itself goes away once they have all left, as
// after any last leave. WHEP viewers are not participants and are not removed. It
// returns how many participants were removed.
func (r *Room) Close(reason error) int {
	n := 0
	r.ops.do(func() {
		for len(r.members) > 0 {
			r.removeOp(r.members[0].p, reason)
			n++
		}
		r.log.Info("room closed by an administrator", "removed", n)
	})
	return n
}

// MuteTrack stops (muted) or resumes forwarding the track id to everyone, subscribers
// and viewers, and tells everyone in the room, its publisher included, through
// Observer.TrackMuted. Resuming asks the publisher for a keyframe. It returns the
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
		for _, m := range r.members {
			tell(m.p, "track-muted notice", func(o Observer) { o.TrackMuted(info) })
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
	for _, m := range r.members {
		for _, t := range m.tracks {
			if t.info.ID == id {
				return t
			}
		}
	}
	return nil
}
