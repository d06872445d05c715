package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/cluster"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// testSecret signs the forwarded requests of the test clusters.
const testSecret = "test-cluster-secret-0123456789abcdef"

func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// freePort is a TCP port on loopback that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testRedis is a redis-server process on a loopback port, without persistence.
type testRedis struct {
	t    *testing.T
	port int
	URL  string
	cmd  *exec.Cmd
}

// startRedis starts redis-server (the Debian package) for the test.
func startRedis(t *testing.T) *testRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is needed for the cluster tests (apt-get install redis-server): %v", err)
	}
	port := freePort(t)
	r := &testRedis{t: t, port: port, URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *testRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	opts, _ := redis.ParseURL(r.URL)
	c := redis.NewClient(opts)
	defer c.Close()
	waitFor(r.t, 10*time.Second, func() (bool, string) {
		err := c.Ping(context.Background()).Err()
		return err == nil, fmt.Sprintf("redis-server on port %d does not answer: %v", r.port, err)
	})
}

// stop kills redis-server and waits for it.
func (r *testRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// client is a client of the test's Redis, for looking at keys.
func (r *testRedis) client() *redis.Client {
	opts, _ := redis.ParseURL(r.URL)
	c := redis.NewClient(opts)
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

// node is a node of a test cluster.
type node interface {
	id() string
	wsURL() string
}

// inNode is a node in this process, with its own listener.
type inNode struct {
	name string
	url  string
	srv  *server.Server
	hs   *http.Server
	done chan struct{}
}

func (n *inNode) id() string    { return n.name }
func (n *inNode) wsURL() string { return "ws" + strings.TrimPrefix(n.url, "http") + "/ws" }

// relaxed liveness: a client is taken for gone only after a long silence, for a
// machine whose two cores are shared with much else (what is tested here is the
// cluster, not the keepalives).
var relaxed = server.Liveness{PingInterval: 10 * time.Second, PongTimeout: 20 * time.Second,
	Liveness: sfu.Liveness{ICEDisconnectedTimeout: 10 * time.Second, ICEFailedTimeout: 20 * time.Second}}

// startNode starts an in-process node of the cluster at redisURL.
func startNode(t *testing.T, redisURL, name string, configure ...func(*server.Config)) *inNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	// Redis calls get 3 s, not 1: this machine's two cores are shared with much
	// else, and a call taken for failed makes the node serve its rooms alone.
	cfg := server.Config{Logger: testLogger().With("node", name), Cluster: &cluster.Config{Redis: redisURL,
		Secret: testSecret, ID: cluster.NodeID(name), URL: url, Timeout: 3 * time.Second}}
	cfg.Media.ICELoopback = true
	cfg.Liveness = relaxed
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &inNode{name: name, url: url, srv: srv, hs: server.NewHTTPServer("", srv, server.HTTPOptions{}), done: make(chan struct{})}
	go func() { defer close(n.done); _ = n.hs.Serve(ln) }()
	t.Cleanup(n.stop)
	return n
}

// stop closes the node; a second call does nothing.
func (n *inNode) stop() {
	_ = n.srv.Close()
	_ = n.hs.Close()
	<-n.done
}

// hosts lists the rooms the node hosts.
func (n *inNode) hosts() map[string]int {
	out := map[string]int{}
	for _, r := range n.srv.Rooms().List() {
		out[string(r.ID())] = len(r.Participants())
	}
	return out
}

// participant is a Pion participant that publishes a small synthetic audio track
// and counts the packets it receives from each other participant.
type participant struct {
	name, room string
	via        node
	*client.Client

	mu  sync.Mutex
	got map[string]*atomic.Uint64 // by participant id

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// join joins room through n and publishes.
func join(ctx context.Context, n node, room, name string) (*participant, error) {
	return joinAt(ctx, n, n.wsURL(), room, name, "")
}

// joinAt joins room at url (a WebSocket or SSE URL of n) with token (or none)
// and publishes.
func joinAt(ctx context.Context, n node, url, room, name, token string) (*participant, error) {
	p := &participant{name: name, room: room, via: n, got: map[string]*atomic.Uint64{}}
	c, err := client.Join(ctx, url, room, name, client.Options{OnTrack: p.onTrack, Token: token})
	if err != nil {
		return nil, fmt.Errorf("%s: join %s through %s: %w", name, room, n.id(), err)
	}
	p.Client = c
	track, err := client.NewAudioTrack("audio", name)
	if err != nil {
		c.Close()
		return nil, err
	}
	sender, err := c.Publish(ctx, track, "microphone")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: publish: %w", name, err)
	}
	mctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.wg.Add(3)
	go func() { defer p.wg.Done(); sendSparse(mctx, track) }()
	go func() { defer p.wg.Done(); keepAlive(mctx, c) }()
	go func() {
		defer p.wg.Done()
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	return p, nil
}

// keepAlive pings the server every 5 s, as the protocol asks of clients (a session
// that sends nothing for 30 s is ended); the Go client leaves it to its user.
func keepAlive(ctx context.Context, c *client.Client) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.Send(ctx, wire.TypePing, nil) != nil {
				return
			}
		}
	}
}

// sendSparse writes a small packet every 50 ms until ctx ends: media enough to
// count, light enough for 90 participants on two busy cores.
func sendSparse(ctx context.Context, track *webrtc.TrackLocalStaticRTP) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}, Payload: make([]byte, 20)}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pkt.SequenceNumber++
		pkt.Timestamp += 2400
		if err := track.WriteRTP(&pkt); err != nil {
			return
		}
	}
}

func (p *participant) onTrack(info wire.Track, track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	p.mu.Lock()
	n := p.got[info.Participant]
	if n == nil {
		n = &atomic.Uint64{}
		p.got[info.Participant] = n
	}
	p.mu.Unlock()
	buf := make([]byte, 1500)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
		n.Add(1)
	}
}

// received is how many packets p has from the participant with id.
func (p *participant) received(id string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.got[id]; n != nil {
		return n.Load()
	}
	return 0
}

// leave closes the connection and stops the media.
func (p *participant) leave() {
	if p.stop != nil {
		p.stop()
	}
	p.Client.Close()
	p.wg.Wait()
}

// lacking is why not every participant of ps has at least n more packets from
// every other than it had in base (by receiver and sender name), "" when all do.
func lacking(ps []*participant, n uint64, base map[[2]string]uint64) string {
	for _, a := range ps {
		for _, b := range ps {
			if a == b {
				continue
			}
			if got := a.received(b.Self.ID); got < base[[2]string{a.name, b.name}]+n {
				return fmt.Sprintf("%s (via %s) has %d packets from %s (via %s), want %d more than %d",
					a.name, a.via.id(), got, b.name, b.via.id(), n, base[[2]string{a.name, b.name}])
			}
		}
	}
	return ""
}

// counts are the packets each participant has from each other, by names.
func counts(ps []*participant) map[[2]string]uint64 {
	out := map[[2]string]uint64{}
	for _, a := range ps {
		for _, b := range ps {
			if a != b {
				out[[2]string{a.name, b.name}] = a.received(b.Self.ID)
			}
		}
	}
	return out
}

// joinAll joins rooms×size participants, each through a node at random, a few at
// a time.
func joinAll(t *testing.T, nodes []node, rooms, size int) map[string][]*participant {
	t.Helper()
	type result struct {
		p   *participant
		err error
	}
	results := make(chan result)
	sem := make(chan struct{}, 8)
	for r := range rooms {
		for i := range size {
			go func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				n := nodes[rand.IntN(len(nodes))]
				p, err := joinRetrying(ctx, n, fmt.Sprintf("room-%02d", r), fmt.Sprintf("r%02d-p%d", r, i))
				results <- result{p, err}
			}()
		}
	}
	byRoom := map[string][]*participant{}
	var errs []error
	for range rooms * size {
		res := <-results
		if res.err != nil {
			errs = append(errs, res.err)
			continue
		}
		byRoom[res.p.room] = append(byRoom[res.p.room], res.p)
		t.Cleanup(res.p.leave)
	}
	if len(errs) > 0 {
		t.Fatalf("%d joins failed, the first: %v", len(errs), errs[0])
	}
	return byRoom
}

// joinRetrying joins as a client does that honours 503 and Retry-After: a node
// answers 503 (unavailable) when the room's node does not answer in time, which a
// machine as loaded as a test machine can cause.
func joinRetrying(ctx context.Context, n node, room, name string) (*participant, error) {
	for {
		p, err := join(ctx, n, room, name)
		if err == nil || !strings.Contains(err.Error(), "503") || ctx.Err() != nil {
			return p, err
		}
		retries.Add(1)
		time.Sleep(time.Second) // Retry-After: a client's pace, not a wait for a condition
	}
}

// retries counts the joins joinRetrying tried again.
var retries atomic.Int64

// waitMedia waits until every participant of every room has n more packets from
// every other than in base (nil: none).
func waitMedia(t *testing.T, byRoom map[string][]*participant, n uint64, base map[string]map[[2]string]uint64, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() (bool, string) {
		for room, ps := range byRoom {
			if why := lacking(ps, n, base[room]); why != "" {
				return false, room + ": " + why
			}
		}
		return true, ""
	})
}

// waitFor polls cond until it holds or timeout passes, then fails with cond's last
// explanation.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkGoroutines fails the test if goroutines started during it still run a
// while after its cleanups.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		waitFor(t, 15*time.Second, func() (bool, string) {
			n := runtime.NumGoroutine()
			return n <= before, fmt.Sprintf("%d goroutines running, %d before the test", n, before)
		})
	})
}
