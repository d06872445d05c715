package server

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/cluster"
)

// adminCluster is the answer of GET /v1/admin/cluster.
type adminCluster struct {
	// Node is the node that answered; RedisUp whether it reaches Redis now.
	Node    cluster.NodeID `json:"node"`
	RedisUp bool           `json:"redis_up"`
	// Nodes are the live nodes, by id; Rooms maps each placed room to its node.
	Nodes []cluster.Member          `json:"nodes"`
	Rooms map[string]cluster.NodeID `json:"rooms"`
}

// GET /v1/admin/cluster: the nodes of the cluster with their load, and which node
// holds which room, as Redis has them (the nodes as last read when Redis is away).
// For tokens that manage every room; 404 (not-found) on a server that is not in a
// cluster.
func (s *Server) adminClusterView(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if s.cluster == nil {
		writeJSONError(w, http.StatusNotFound, "not-found", "this server is not a node of a cluster (--redis)")
		return
	}
	if c.Room != "" && c.Room != "*" {
		writeJSONError(w, http.StatusForbidden, "forbidden", "the cluster view needs a token for every room")
		return
	}
	members, _ := s.cluster.Members(r.Context())
	slices.SortFunc(members, func(a, b cluster.Member) int { return cmp.Compare(a.ID, b.ID) })
	rooms, _ := s.cluster.Rooms(r.Context())
	writeJSON(w, http.StatusOK, adminCluster{Node: s.cluster.ID(), RedisUp: s.cluster.RedisUp(), Nodes: members, Rooms: rooms})
}

// clusterCollector shows the cluster as this node last read it: a gauge per node
// for its load, and whether Redis answers. Scrapes never wait on Redis.
type clusterCollector struct {
	node                                 *cluster.Node
	up, participants, tracks, rooms, cpu *prometheus.Desc
}

func newClusterCollector(node *cluster.Node) *clusterCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "cluster", name), help, labels, nil)
	}
	return &clusterCollector{node: node,
		up:           d("redis_up", "1 while this node reaches the cluster's Redis, else 0."),
		participants: d("node_participants", "Participants (WHEP viewers included) of each live node, as it last reported.", "node"),
		tracks:       d("node_tracks", "Published tracks of each live node, as it last reported.", "node"),
		rooms:        d("node_rooms", "Rooms of each live node, as it last reported.", "node"),
		cpu:          d("node_cpu", "Share of its machine's cores each live node's process used (0..1), as it last reported.", "node"),
	}
}

// Describe sends every metric's description.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.participants, c.tracks, c.rooms, c.cpu} {
		ch <- d
	}
}

// Collect reads the node's last view of the cluster.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	up := 0.0
	if c.node.RedisUp() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	for _, m := range c.node.Known() {
		id := string(m.ID)
		ch <- prometheus.MustNewConstMetric(c.participants, prometheus.GaugeValue, float64(m.Load.Participants), id)
		ch <- prometheus.MustNewConstMetric(c.tracks, prometheus.GaugeValue, float64(m.Load.Tracks), id)
		ch <- prometheus.MustNewConstMetric(c.rooms, prometheus.GaugeValue, float64(m.Load.Rooms), id)
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.GaugeValue, m.Load.CPU, id)
	}
}
