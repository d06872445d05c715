package main

import (
	"errors"
	"flag"
	"net"

	"github.com/switchboard-rtc/switchboard/cluster"
	"github.com/switchboard-rtc/switchboard/server"
)

// clusterFlags are the flags that make the server one node of a cluster.
type clusterFlags struct {
	redis, secret, url, nodeID string
}

func (c *clusterFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&c.redis, "redis", "",
		"join a cluster of nodes sharing rooms through the Redis at this `URL` (redis://host:6379/0); off when empty")
	fs.StringVar(&c.secret, "cluster-secret", "",
		"with --redis, the `secret` (at least 32 characters, the same on every node) that signs requests nodes forward to each other")
	fs.StringVar(&c.url, "cluster-url", "",
		"with --redis, the base `URL` other nodes reach this one at (default: http:// and the listening address)")
	fs.StringVar(&c.nodeID, "node-id", "", "with --redis, this node's `name` in the cluster (default: random)")
}

// apply puts the cluster's configuration into cfg.
func (c *clusterFlags) apply(cfg *server.Config) error {
	if c.redis == "" {
		if c.secret != "" || c.url != "" || c.nodeID != "" {
			return errors.New("--cluster-secret, --cluster-url and --node-id need --redis")
		}
		return nil
	}
	if len(c.secret) < cluster.MinSecretLength {
		return errors.New("--redis needs --cluster-secret, at least 32 characters, the same on every node")
	}
	cfg.Cluster = &cluster.Config{Redis: c.redis, Secret: c.secret, URL: c.url, ID: cluster.NodeID(c.nodeID)}
	return nil
}

// advertise tells the cluster where this node listens, unless --cluster-url did.
func advertise(srv *server.Server, a net.Addr) error {
	node := srv.Cluster()
	if node == nil || node.URL() != "" {
		return nil
	}
	return node.Advertise(clientURL(a))
}
