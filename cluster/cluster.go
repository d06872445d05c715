// Package cluster lets several Switchboard nodes share rooms through Redis: each
// node registers itself with a heartbeat, every room is placed on one node at a
// time under a lease its owner renews, and a request for a room that lives on
// another node is carried there over an authenticated internal connection
// (forward.go). It knows nothing of media or signaling: the server hands it the
// rooms it hosts and its load as functions, and asks it where a room lives.
//
// Redis is never on the media path, and no call into this package waits on Redis
// for longer than Config.Timeout. While Redis is unreachable, Locate answers "here"
// for rooms it cannot place (the node keeps serving), and the renewal loop claims
// those rooms when Redis returns; a room that another node claimed meanwhile is
// reported to Config.OnConflict. See docs/cluster.md.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// NodeID names a node of the cluster.
type NodeID string

// The defaults of Config's durations.
const (
	DefaultHeartbeat = time.Second
	DefaultNodeTTL   = 5 * time.Second
	DefaultLeaseTTL  = 5 * time.Second
	DefaultTimeout   = time.Second
	DefaultPrefix    = "switchboard:"
	// MinSecretLength is the shortest Config.Secret accepted: the HMAC key of
	// forwarded requests.
	MinSecretLength = 32
	// ownersKept is how long the owner of a room is remembered after it was last
	// looked up, for requests while Redis is away.
	ownersKept = 10 * time.Minute
	// holdPending is how long a room placed on this node is kept claimed before
	// any participant arrives in it.
	holdPending = 10 * time.Second
)

// Load is how busy a node is.
type Load struct {
	Participants int     `json:"participants"`
	Tracks       int     `json:"tracks"`
	Rooms        int     `json:"rooms"`
	CPU          float64 `json:"cpu"` // share of the machine's cores this process used, 0..1
}

// score orders nodes for placement: lower is less loaded. A track costs about as
// much as a participant (each is forwarded to the room), a room a little more than
// nothing (it is about to fill), and a busy processor outweighs both.
func (l Load) score() float64 {
	return float64(l.Participants+l.Tracks) + 2*float64(l.Rooms) + 100*l.CPU
}

// Config configures a Node.
type Config struct {
	// Redis is the redis:// (or rediss://) URL of the shared Redis. Required.
	Redis string
	// Secret signs the requests nodes forward to each other; every node of a
	// cluster has the same one, at least MinSecretLength characters. Required.
	Secret string
	// ID names this node; empty picks a random one.
	ID NodeID
	// URL is the base URL other nodes reach this node's HTTP server at
	// (http://10.0.0.5:8080, with the server's path prefix if any). It may be set
	// later with Advertise; until then the node takes no rooms from others.
	URL string
	// Load reports this node's load; nil reports none.
	Load func() Load
	// Rooms lists the rooms this node hosts now; their leases are renewed.
	Rooms func() []string
	// OnConflict is called, on the renewal goroutine, for a room this node hosts
	// whose lease another node holds (both created it while Redis was unreachable):
	// the room should move there (owner is that node, its URL when known).
	OnConflict func(room string, owner Member)
	// Draining reports whether this node drains: it then takes no new rooms, and
	// keeps those it has until they empty. Nil: never.
	Draining func() bool
	// Logger receives the node's logs; nil means slog.Default().
	Logger *slog.Logger
	// Heartbeat [1 s] is how often the node refreshes its registration and renews
	// its leases; NodeTTL [5 s] and LeaseTTL [5 s] how long they last without it:
	// a node that dies is taken for dead, and its rooms free, that long after its
	// last heartbeat. A few heartbeats fit in a TTL, so that a busy node or a slow
	// Redis does not lose its rooms.
	Heartbeat, NodeTTL, LeaseTTL time.Duration
	// Timeout [1 s] bounds every Redis call.
	Timeout time.Duration
	// Prefix [switchboard:] begins every Redis key.
	Prefix string
}

// known is a room's owner as last seen, and when.
type known struct {
	owner Member
	at    time.Time
}

// Member is a node of the cluster as it registers itself in Redis.
type Member struct {
	ID   NodeID `json:"id"`
	URL  string `json:"url"`
	Load Load   `json:"load"`
	// Seen is when the member last renewed its registration, in Unix milliseconds.
	Seen int64 `json:"seen"`
	// Draining: the member takes no new rooms.
	Draining bool `json:"draining,omitempty"`
}

// Node is this process's membership of a cluster. Create it with New; Close
// deregisters it and stops its goroutine.
type Node struct {
	cfg    Config
	id     NodeID
	rdb    *redis.Client
	log    *slog.Logger
	secret []byte
	keys   keys

	mu       sync.Mutex
	url      string
	members  map[NodeID]Member      // live members as last read, self included
	placed   map[NodeID][]time.Time // when this node placed rooms on each member, lately
	pending  map[string]time.Time   // rooms placed here, held until then without a participant
	owners   map[string]known       // last known owner of each room, for when Redis is away
	refused  map[NodeID]time.Time   // members whose HTTP port refused a forwarded request, and when
	down     bool                   // the last Redis call failed
	fails    int                    // Redis calls failed in a row
	downAt   time.Time              // when Redis was last seen failing
	cpuShare float64                // at the last heartbeat

	transport *http.Transport // of forwarded requests
	cpu       cpuMeter
	cancel    context.CancelFunc
	done      chan struct{}
}

// New checks cfg, connects (lazily) to Redis and starts the node's heartbeat. It
// does not wait for Redis: a node whose Redis is away serves its own rooms.
func New(cfg Config) (*Node, error) {
	opts, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("cluster: redis URL: %w", err)
	}
	if len(cfg.Secret) < MinSecretLength {
		return nil, fmt.Errorf("cluster: the cluster secret has %d characters: it needs at least %d", len(cfg.Secret), MinSecretLength)
	}
	if cfg.URL != "" {
		if err := checkURL(cfg.URL); err != nil {
			return nil, err
		}
	}
	cfg.Heartbeat = orDefault(cfg.Heartbeat, DefaultHeartbeat)
	cfg.NodeTTL = orDefault(cfg.NodeTTL, DefaultNodeTTL)
	cfg.LeaseTTL = orDefault(cfg.LeaseTTL, DefaultLeaseTTL)
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.ID == "" {
		cfg.ID = randomID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Every call is short: a Redis that does not answer is taken for away at once,
	// not retried while a client waits.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	opts.MaxRetries = -1
	opts.PoolTimeout = cfg.Timeout
	opts.DialerRetries = 1
	quietRedis.Do(func() { redis.SetLogger(discard{}) })
	opts.DisableIdentity = true
	n := &Node{cfg: cfg, id: cfg.ID, rdb: redis.NewClient(opts), log: cfg.Logger.With("node", string(cfg.ID)),
		secret: []byte(cfg.Secret), keys: keys(cfg.Prefix), url: strings.TrimSuffix(cfg.URL, "/"),
		members: map[NodeID]Member{}, placed: map[NodeID][]time.Time{}, pending: map[string]time.Time{},
		owners: map[string]known{}, refused: map[NodeID]time.Time{}, transport: newTransport(), done: make(chan struct{})}
	var ctx context.Context
	ctx, n.cancel = context.WithCancel(context.Background())
	go n.run(ctx)
	return n, nil
}

// checkURL refuses a URL other nodes could not use.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("cluster: node URL %q is not an http(s)://host:port URL", s)
	}
	return nil
}

// ID is this node's name.
func (n *Node) ID() NodeID { return n.id }

// Advertise sets the URL other nodes reach this node at (see Config.URL).
func (n *Node) Advertise(u string) error {
	if err := checkURL(u); err != nil {
		return err
	}
	n.mu.Lock()
	n.url = strings.TrimSuffix(u, "/")
	n.mu.Unlock()
	return nil
}

// URL is the URL other nodes reach this node at, "" until it is known.
func (n *Node) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.url
}

// Close stops the heartbeat, gives up this node's leases and registration (other
// nodes may place its rooms at once) and closes the Redis client.
func (n *Node) Close() error {
	n.cancel()
	<-n.done
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	n.release(ctx)
	n.transport.CloseIdleConnections()
	return n.rdb.Close()
}

// RedisUp reports whether the last Redis call succeeded.
func (n *Node) RedisUp() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.down
}

// noted records the outcome of a Redis call, and logs when Redis goes away or
// comes back. It returns err.
func (n *Node) noted(err error) error {
	failed := err != nil && !errors.Is(err, redis.Nil)
	n.mu.Lock()
	was := n.down
	n.down = failed
	if failed {
		n.downAt = time.Now()
		n.fails++
	} else {
		n.fails = 0
	}
	n.mu.Unlock()
	switch {
	case failed && !was:
		n.log.Warn("cluster: Redis unreachable: serving rooms locally until it returns", "err", err)
	case !failed && was:
		n.log.Info("cluster: Redis reachable again: reconciling rooms")
	}
	return err
}

// recentlyDown reports whether Redis failed twice in a row, the last time within
// a heartbeat: then requests do not wait on it, the heartbeat finds out when it
// returns. (One failure may be a slow answer on a busy machine.)
func (n *Node) recentlyDown() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.fails >= 2 && time.Since(n.downAt) < n.cfg.Heartbeat
}

// quietRedis silences go-redis's own log (a line per failed dial, on stderr), once
// per process: the node logs Redis going away and coming back itself. It is
// process-wide, as go-redis's logger is.
var quietRedis sync.Once

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func randomID() NodeID {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return NodeID(hex.EncodeToString(b))
}

// keys names the Redis keys; docs/cluster.md lists them.
type keys string

func (k keys) member(id NodeID) string { return string(k) + "node:" + string(id) }
func (k keys) members() string         { return string(k) + "nodes" }
func (k keys) room(name string) string { return string(k) + "room:" + name }
