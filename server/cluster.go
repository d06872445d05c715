package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/cluster"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// Clustering (Config.Cluster, docs/cluster.md): a request that names a room is
// served by the node that owns the room. The node a client reaches runs admission
// as usual, then asks the cluster where the room lives (routeCluster); a room of
// another node is forwarded there, signed, and the owner serves it on the first
// node's admission (admitForwarded). Without Config.Cluster none of this runs.

// newCluster joins the cluster cfg.Cluster names, reporting this server's rooms
// and load.
func (s *Server) newCluster(cfg Config) error {
	if cfg.Cluster == nil {
		return nil
	}
	cc := *cfg.Cluster
	if cc.Logger == nil {
		cc.Logger = s.log
	}
	cc.Load, cc.Rooms, cc.OnConflict, cc.Draining = s.clusterLoad, s.hostedRooms, s.moveRoom, s.drain.active
	node, err := cluster.New(cc)
	if err != nil {
		return err
	}
	s.cluster = node
	return nil
}

// Cluster is the server's membership of a cluster, nil without Config.Cluster.
func (s *Server) Cluster() *cluster.Node { return s.cluster }

// clusterLoad is the server's load as the cluster weighs it.
func (s *Server) clusterLoad() cluster.Load {
	l := cluster.Load{Rooms: s.rooms.Len()}
	for _, room := range s.rooms.List() {
		for _, p := range room.Participants() {
			l.Participants++
			l.Tracks += len(p.Tracks)
		}
		l.Participants += len(room.Viewers())
	}
	for _, room := range s.mesh.List() {
		l.Rooms++
		l.Participants += len(room.Peers())
	}
	return l
}

// hostedRooms are the rooms of this server, SFU and mesh.
func (s *Server) hostedRooms() []string {
	var out []string
	for _, room := range s.rooms.List() {
		out = append(out, string(room.ID()))
	}
	for _, room := range s.mesh.List() {
		out = append(out, string(room.ID()))
	}
	return out
}

// moveRoom ends this server's copy of room, which another node holds: it was
// created on both while Redis was unreachable. Its participants are told the room
// moved (code moved) and closed; joining again through any node lands them in the
// owner's room.
func (s *Server) moveRoom(room string, owner cluster.Member) {
	n := 0
	if r := s.rooms.Room(sfu.RoomID(room)); r != nil {
		n += r.Close(roster.ErrMoved)
	}
	if r := s.mesh.Room(mesh.RoomID(room)); r != nil {
		n += r.Close(roster.ErrMoved)
	}
	if n > 0 {
		s.log.Warn("cluster: room moved to its owner: its participants were told to join again", "room", room,
			"owner", string(owner.ID), "removed", n)
	}
}

// clusterRetryAfter is the Retry-After of a request whose room's node cannot be
// reached or placed: a node that died is replaced within its registration's 5 s,
// so trying again soon, and again, is what works.
const clusterRetryAfter = time.Second

type forwardedKey struct{}

// admitForwarded serves a request another node forwarded, on that node's
// admission; it reports false when r is not forwarded.
func (s *Server) admitForwarded(w http.ResponseWriter, r *http.Request, h http.Handler) bool {
	if s.cluster == nil {
		return false
	}
	f, ok, err := s.cluster.Verify(r)
	if !ok {
		return false
	}
	if err != nil {
		s.requestLog(r).Warn("cluster: refused a forwarded request", "err", err, "remote", r.RemoteAddr)
		WriteRefusal(w, refuse(http.StatusUnauthorized, "unauthorized", err.Error()))
		return true
	}
	ctx := context.WithValue(r.Context(), forwardedKey{}, true)
	if len(f.Access) > 0 {
		var a signal.Access
		if err := json.Unmarshal(f.Access, &a); err != nil {
			WriteRefusal(w, refuse(http.StatusBadRequest, "bad-request", "forwarded access: "+err.Error()))
			return true
		}
		ctx = signal.WithAccess(ctx, a)
	}
	if f.Room != "" {
		s.cluster.Hold(f.Room)
	}
	h.ServeHTTP(w, r.WithContext(ctx))
	return true
}

// routeCluster serves requests for rooms of this node with h, and forwards those
// for rooms of other nodes to their owner. A native session must name its room in
// the URL (?room=, as the browser and Go clients do), and may join that room only.
func (s *Server) routeCluster(rt route, h http.Handler) http.Handler {
	if s.cluster == nil || rt.room == nil || rt.entry == tokenInfo || rt.entry == admin {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(forwardedKey{}) != nil {
			h.ServeHTTP(w, r)
			return
		}
		room := rt.room(r)
		if room == "" {
			if rt.entry == joinRoom {
				WriteRefusal(w, refuse(http.StatusBadRequest, "bad-request",
					"this server is one node of a cluster: name the room in the URL (?room=)"))
				return
			}
			h.ServeHTTP(w, r) // a resource named without its room: this node's, if any
			return
		}
		if rt.entry == joinRoom {
			a := signal.AccessFrom(r.Context())
			a.Room = sfu.RoomID(room)
			r = r.WithContext(signal.WithAccess(r.Context(), a))
		}
		owner, here, err := s.cluster.Locate(r.Context(), room)
		switch {
		case err != nil:
			s.refuseUnavailable(w, err.Error())
		case here:
			h.ServeHTTP(w, r)
		default:
			s.forward(w, r, owner, room)
		}
	})
}

// forward carries r to the room's owner with what admission allowed.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, owner cluster.Member, room string) {
	var access json.RawMessage
	if a, ok := accessOf(r.Context()); ok {
		b, err := json.Marshal(a)
		if err != nil {
			WriteRefusal(w, err)
			return
		}
		access = b
	}
	s.cluster.Forward(w, r, owner, room, access, func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, context.Canceled) {
			return // the client went away
		}
		s.requestLog(r).Warn("cluster: owner unreachable", "room", room, "owner", string(owner.ID), "err", err)
		s.refuseUnavailable(w, "the node of this room cannot be reached: try again")
	})
}

// refuseUnavailable answers 503 (unavailable) with Retry-After, and counts it.
func (s *Server) refuseUnavailable(w http.ResponseWriter, reason string) {
	rf := &Refusal{Status: http.StatusServiceUnavailable, Code: "unavailable", Reason: reason, RetryAfter: clusterRetryAfter}
	s.metrics.refused(rf)
	WriteRefusal(w, rf)
}

// accessOf is the Access admission put in ctx, if any.
func accessOf(ctx context.Context) (signal.Access, bool) {
	a := signal.AccessFrom(ctx)
	return a, a != (signal.Access{})
}
