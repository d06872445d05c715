package auto

import (
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// JoinSFU joins the seat's owner to its room's SFU side under the seat's id, with
// opts otherwise as given. It fails with ErrLeft once the seat has left or was
// replaced.
func (s *Seat) JoinSFU(name string, obs sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error) {
	if s.hasGone() {
		return nil, ErrLeft
	}
	opts.ID = s.id
	return s.room.rooms.cfg.SFU.JoinWith(s.room.id, name, obs, opts)
}

// JoinMesh joins the seat's owner to its room's mesh side under the seat's id, as
// JoinSFU does.
func (s *Seat) JoinMesh(name string, obs mesh.Observer, opts mesh.JoinOptions) (*mesh.Member, error) {
	if s.hasGone() {
		return nil, ErrLeft
	}
	opts.ID = s.id
	return s.room.rooms.cfg.Mesh.JoinWith(s.room.id, name, obs, opts)
}

func (s *Seat) hasGone() bool {
	s.room.mu.Lock()
	defer s.room.mu.Unlock()
	return s.gone
}
