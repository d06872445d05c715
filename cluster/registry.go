package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// run beats until ctx ends.
func (n *Node) run(ctx context.Context) {
	defer close(n.done)
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	for {
		n.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beat is one heartbeat: register, read the other members, renew the leases;
// each step has Config.Timeout.
func (n *Node) beat(ctx context.Context) {
	for _, step := range []func(context.Context) error{n.register, n.readMembers, n.renew} {
		sctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
		err := n.noted(step(sctx))
		cancel()
		if err != nil {
			return
		}
	}
}

// self is this node's registration now.
func (n *Node) self() Member {
	m := Member{ID: n.id, Seen: time.Now().UnixMilli()}
	if n.cfg.Load != nil {
		m.Load = n.cfg.Load()
	}
	m.Draining = n.cfg.Draining != nil && n.cfg.Draining()
	n.mu.Lock()
	defer n.mu.Unlock()
	m.URL = n.url
	m.Load.Rooms += len(n.pending)
	m.Load.CPU = n.cpuShare
	return m
}

// register writes this node's registration, which lasts NodeTTL. A node without
// a URL yet is not registered: no other node could reach it.
func (n *Node) register(ctx context.Context) error {
	cpu := n.cpu.share()
	n.mu.Lock()
	n.cpuShare = cpu
	n.mu.Unlock()
	m := n.self()
	if m.URL == "" {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, n.keys.member(n.id), b, n.cfg.NodeTTL)
		p.SAdd(ctx, n.keys.members(), string(n.id))
		return nil
	})
	return err
}

// readMembers reads the live members; a member whose registration expired is
// dead, and is taken off the set.
func (n *Node) readMembers(ctx context.Context) error {
	ms, err := n.fetchMembers(ctx)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.members = ms
	n.forgetLocked(time.Now())
	n.mu.Unlock()
	return nil
}

// forgetLocked drops owners not looked up for ownersKept, and placements on nodes
// that are gone. The caller holds n.mu.
func (n *Node) forgetLocked(now time.Time) {
	for room, k := range n.owners {
		if now.Sub(k.at) > ownersKept {
			delete(n.owners, room)
		}
	}
	for id := range n.placed {
		if _, ok := n.members[id]; !ok {
			delete(n.placed, id)
		}
	}
	for id, at := range n.refused {
		if now.Sub(at) >= n.cfg.NodeTTL {
			delete(n.refused, id)
		}
	}
}

// fetchMembers reads the live members from Redis.
func (n *Node) fetchMembers(ctx context.Context) (map[NodeID]Member, error) {
	ids, err := n.rdb.SMembers(ctx, n.keys.members()).Result()
	if err != nil || len(ids) == 0 {
		return map[NodeID]Member{}, err
	}
	ks := make([]string, len(ids))
	for i, id := range ids {
		ks[i] = n.keys.member(NodeID(id))
	}
	vals, err := n.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, err
	}
	ms := make(map[NodeID]Member, len(ids))
	var dead []any
	for i, v := range vals {
		s, ok := v.(string)
		var m Member
		if !ok || json.Unmarshal([]byte(s), &m) != nil || m.URL == "" {
			dead = append(dead, ids[i])
			continue
		}
		ms[m.ID] = m
	}
	if len(dead) > 0 {
		n.rdb.SRem(ctx, n.keys.members(), dead...)
	}
	return ms, nil
}

// Members are the live members of the cluster as read at the last heartbeat, or
// now when Redis answers within the timeout.
func (n *Node) Members(ctx context.Context) ([]Member, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	ms, err := n.fetchMembers(ctx)
	if n.noted(err) != nil {
		n.mu.Lock()
		ms = maps(n.members)
		n.mu.Unlock()
	}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, m)
	}
	return out, err
}

// Known are the live members as read at the last heartbeat, without asking Redis.
func (n *Node) Known() []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Member, 0, len(n.members))
	for _, m := range n.members {
		out = append(out, m)
	}
	return out
}

// Rooms maps each room that has an owner to its owner, read from Redis.
func (n *Node) Rooms(ctx context.Context) (map[string]NodeID, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	out := map[string]NodeID{}
	prefix := n.keys.room("")
	var cursor uint64
	for {
		ks, next, err := n.rdb.Scan(ctx, cursor, prefix+"*", 500).Result()
		if n.noted(err) != nil {
			return out, err
		}
		if len(ks) > 0 {
			vals, err := n.rdb.MGet(ctx, ks...).Result()
			if n.noted(err) != nil {
				return out, err
			}
			for i, v := range vals {
				if s, ok := v.(string); ok {
					out[ks[i][len(prefix):]] = NodeID(s)
				}
			}
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}

// release gives up this node's registration and leases, for a node that stops.
func (n *Node) release(ctx context.Context) {
	rooms := n.held()
	_, err := n.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, n.keys.member(n.id))
		p.SRem(ctx, n.keys.members(), string(n.id))
		for _, room := range rooms {
			releaseScript.Eval(ctx, p, []string{n.keys.room(room)}, string(n.id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		n.log.Warn("cluster: could not deregister", "err", err)
	}
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
