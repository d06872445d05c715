package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// A room's lease is the key room:<name> holding its owner's NodeID, set with a
// time to live of LeaseTTL that the owner renews at every heartbeat.

// renewScript renews the lease of KEYS[1] for ARGV[1] (this node) by ARGV[2] ms:
// 1 when it held it, 2 when nobody did and it now does (a room created while Redis
// was away, or whose lease lapsed), else the owner that holds it.
var renewScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return v`)

// releaseScript deletes the lease KEYS[1] if ARGV[1] holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// ErrNoPlace is returned by Locate when a room could not be placed (the cluster
// changed under it several times in a row).
var ErrNoPlace = errors.New("cluster: could not place the room")

// Locate reports which member hosts room, placing a new room on the least loaded
// live member. here is true when that is this node: the caller then serves the
// request itself, and the room is held here from now on. When Redis does not
// answer, room is served where it was last known to live, else here (to be
// reconciled when Redis returns); Locate waits on Redis for at most
// Config.Timeout, and not at all while Redis is known to be away.
func (n *Node) Locate(ctx context.Context, room string) (owner Member, here bool, err error) {
	if n.recentlyDown() {
		return n.locateAway(room)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	for range 3 {
		owner, here, err = n.locateOnce(ctx, room)
		if err == nil || !errors.Is(err, errRetry) {
			break
		}
	}
	switch {
	case errors.Is(err, errRetry):
		return Member{}, false, fmt.Errorf("%w %q", ErrNoPlace, room)
	case err != nil:
		return n.locateAway(room)
	}
	if here {
		n.Hold(room)
	} else {
		n.mu.Lock()
		n.owners[room] = known{owner, time.Now()}
		n.mu.Unlock()
	}
	return owner, here, nil
}

var errRetry = errors.New("retry")

// locateOnce reads room's lease and places the room when nobody holds it; errRetry
// when the cluster changed meanwhile, another error when Redis failed.
func (n *Node) locateOnce(ctx context.Context, room string) (Member, bool, error) {
	id, err := n.rdb.Get(ctx, n.keys.room(room)).Result()
	if n.noted(err) != nil && !errors.Is(err, redis.Nil) {
		return Member{}, false, err
	}
	if id != "" {
		if NodeID(id) == n.id {
			return n.self(), true, nil
		}
		m, alive, err := n.member(ctx, NodeID(id))
		if err != nil {
			return Member{}, false, err
		}
		if alive {
			return m, false, nil
		}
		// Its owner died: free the room for placement.
		if err := n.noted(releaseScript.Run(ctx, n.rdb, []string{n.keys.room(room)}, id).Err()); err != nil {
			return Member{}, false, err
		}
	}
	m := n.choose()
	ok, err := n.rdb.SetNX(ctx, n.keys.room(room), string(m.ID), n.cfg.LeaseTTL).Result()
	if n.noted(err) != nil {
		return Member{}, false, err
	}
	if !ok {
		return Member{}, false, errRetry
	}
	n.log.Debug("cluster: placed room", "room", room, "on", string(m.ID))
	return m, m.ID == n.id, nil
}

// locateAway answers Locate while Redis is away.
func (n *Node) locateAway(room string) (Member, bool, error) {
	n.mu.Lock()
	k, ok := n.owners[room]
	n.mu.Unlock()
	if ok && k.owner.ID != n.id {
		return k.owner, false, nil
	}
	n.Hold(room)
	return n.self(), true, nil
}

// member is the live member id, from the last heartbeat or else from Redis.
func (n *Node) member(ctx context.Context, id NodeID) (Member, bool, error) {
	n.mu.Lock()
	m, ok := n.members[id]
	n.mu.Unlock()
	if ok {
		return m, true, nil
	}
	b, err := n.rdb.Get(ctx, n.keys.member(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Member{}, false, nil
	}
	if n.noted(err) != nil {
		return Member{}, false, err
	}
	if err := jsonUnmarshal(b, &m); err != nil || m.URL == "" {
		return Member{}, false, nil
	}
	return m, true, nil
}

// choose picks the least loaded live member, counting as load the rooms this node
// placed on each since that member reported its load; ties are broken at random,
// so that nodes placing rooms at once spread them.
func (n *Node) choose() Member {
	self := n.self()
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	var best []Member
	bestScore := 0.0
	candidates := maps(n.members)
	candidates[n.id] = self // registered or not (yet): it may always serve a room itself
	for _, m := range candidates {
		if m.Draining || now.Sub(n.refused[m.ID]) < n.cfg.NodeTTL {
			continue
		}
		s := m.Load.score() + 2*float64(n.placedSinceLocked(m, now))
		switch {
		case len(best) == 0 || s < bestScore:
			best, bestScore = append(best[:0], m), s
		case s == bestScore:
			best = append(best, m)
		}
	}
	if len(best) == 0 {
		return self // every node drains: keep the room here
	}
	m := best[rand.IntN(len(best))]
	n.placed[m.ID] = append(n.placed[m.ID], now)
	return m
}

// placedSinceLocked counts the rooms placed on m after it reported its load, and
// forgets placements older than that. The caller holds n.mu.
func (n *Node) placedSinceLocked(m Member, now time.Time) int {
	seen := time.UnixMilli(m.Seen)
	if m.ID == n.id {
		seen = now // self's load is read now, pending rooms included
	}
	ts := n.placed[m.ID]
	i := 0
	for i < len(ts) && !ts[i].After(seen) {
		i++
	}
	n.placed[m.ID] = ts[i:]
	return len(ts) - i
}

// Hold keeps room claimed for this node for a while (holdPending) even before a
// participant arrives: a room just placed here, or a request forwarded here.
func (n *Node) Hold(room string) {
	n.mu.Lock()
	n.pending[room] = time.Now().Add(holdPending)
	n.owners[room] = known{Member{ID: n.id}, time.Now()}
	n.mu.Unlock()
}

// held are the rooms whose leases this node renews: those it hosts, and those
// placed here that nobody has entered yet, unless it drains: a draining node keeps
// only its rooms with people in them, and lets the others go to other nodes.
func (n *Node) held() []string {
	var rooms []string
	if n.cfg.Rooms != nil {
		rooms = n.cfg.Rooms()
	}
	draining := n.cfg.Draining != nil && n.cfg.Draining()
	seen := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		seen[r] = true
	}
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	for r, until := range n.pending {
		switch {
		case now.After(until) || draining:
			delete(n.pending, r)
		case !seen[r]:
			seen[r] = true
			rooms = append(rooms, r)
		}
	}
	return rooms
}

// renew renews the leases of the rooms this node holds, claims those nobody
// holds, and reports those another node holds to OnConflict.
func (n *Node) renew(ctx context.Context) error {
	rooms := n.held()
	if len(rooms) == 0 {
		return nil
	}
	cmds := make([]*redis.Cmd, len(rooms))
	_, err := n.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, room := range rooms {
			cmds[i] = renewScript.Eval(ctx, p, []string{n.keys.room(room)}, string(n.id), n.cfg.LeaseTTL.Milliseconds())
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, cmd := range cmds {
		switch v := cmd.Val().(type) {
		case int64:
			if v == 2 {
				n.log.Info("cluster: claimed room", "room", rooms[i])
			}
		case string:
			n.conflict(ctx, rooms[i], NodeID(v))
		}
	}
	return nil
}

// conflict handles room, held here and by owner.
func (n *Node) conflict(ctx context.Context, room string, owner NodeID) {
	n.mu.Lock()
	delete(n.pending, room)
	n.mu.Unlock()
	m, alive, err := n.member(ctx, owner)
	if err != nil || !alive {
		return // the next heartbeat sees again
	}
	n.mu.Lock()
	n.owners[room] = known{m, time.Now()}
	n.mu.Unlock()
	n.log.Info("cluster: room is held by another node", "room", room, "owner", string(owner))
	if n.cfg.OnConflict != nil {
		n.cfg.OnConflict(room, m)
	}
}
