package server

import (
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// One participant with its media statistics: GET
// /v1/admin/rooms/{room}/participants/{participant}.

type adminParticipantStats struct {
	adminParticipant
	Mode        directory.Mode    `json:"mode"`
	Transport   string            `json:"transport,omitempty"`
	In          []adminStream     `json:"in"`
	Out         []adminStream     `json:"out"`
	Connections []adminConnection `json:"connections"`
}

// adminStream is one RTP stream; durations in milliseconds.
type adminStream struct {
	Track   string  `json:"track"`
	From    string  `json:"from,omitempty"`
	Kind    string  `json:"kind"`
	Source  string  `json:"source,omitempty"`
	Packets uint64  `json:"packets"`
	Bytes   uint64  `json:"bytes"`
	Bitrate uint64  `json:"bitrate"`
	Lost    int64   `json:"lost"`
	Jitter  float64 `json:"jitter_ms"`
	RTT     float64 `json:"rtt_ms,omitempty"`
}

type adminConnection struct {
	Side            string `json:"side"`
	State           string `json:"state"`
	LocalCandidate  string `json:"local_candidate,omitempty"`
	RemoteCandidate string `json:"remote_candidate,omitempty"`
	Protocol        string `json:"protocol,omitempty"`
}

// GET /v1/admin/rooms/{room}/participants/{participant}: the participant ({"id",
// "identity", "name", "tracks", "mode", "transport"}) with its media statistics:
// "in", the tracks it publishes as the server receives them, "out", the tracks it
// receives as the server sends them, and "connections", its peer connections' ICE
// state and selected candidate pair. A mesh peer has no media on the server: its
// lists are empty.
func (s *Server) adminGetParticipant(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	if mr := s.adminMeshRoom(r); mr != nil {
		id := mesh.PeerID(r.PathValue("participant"))
		for _, p := range mr.Peers() {
			if p.ID == id {
				writeJSON(w, http.StatusOK, adminParticipantStats{
					adminParticipant: adminParticipant{ID: string(p.ID), Identity: p.Identity, Name: p.Name, Tracks: []adminTrack{}},
					Mode:             directory.Mesh, In: []adminStream{}, Out: []adminStream{}, Connections: []adminConnection{}})
				return
			}
		}
		writeAdminError(w, mesh.ErrUnknownPeer)
		return
	}
	room, ok := s.adminRoom(w, r)
	if !ok {
		return
	}
	p := room.Participant(sfu.ParticipantID(r.PathValue("participant")))
	if p == nil {
		writeAdminError(w, sfu.ErrNoParticipant)
		return
	}
	writeJSON(w, http.StatusOK, participantStatsToAdmin(room, p))
}

func participantStatsToAdmin(room *sfu.Room, p *sfu.Participant) adminParticipantStats {
	out := adminParticipantStats{adminParticipant: adminParticipant{ID: string(p.ID()), Identity: p.Identity(), Name: p.Name(),
		Tracks: []adminTrack{}}, Mode: directory.SFU, Transport: p.Transport(), In: []adminStream{}, Out: []adminStream{},
		Connections: []adminConnection{}}
	for _, info := range room.Participants() {
		if info.ID == p.ID() {
			for _, t := range info.Tracks {
				out.Tracks = append(out.Tracks, trackToAdmin(t))
			}
		}
	}
	st := p.Stats()
	for _, s := range st.In {
		out.In = append(out.In, streamToAdmin(s))
	}
	for _, s := range st.Out {
		out.Out = append(out.Out, streamToAdmin(s))
	}
	for _, c := range st.Connections {
		out.Connections = append(out.Connections, adminConnection{Side: string(c.Side), State: c.State.String(),
			LocalCandidate: c.LocalCandidate, RemoteCandidate: c.RemoteCandidate, Protocol: c.Protocol})
	}
	return out
}

func streamToAdmin(s sfu.StreamStats) adminStream {
	return adminStream{Track: string(s.Track), From: string(s.From), Kind: s.Kind.String(), Source: string(s.Source),
		Packets: s.Packets, Bytes: s.Bytes, Bitrate: s.Bitrate, Lost: s.Lost, Jitter: ms(s.Jitter), RTT: ms(s.RTT)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
