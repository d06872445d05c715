package cluster_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the switchboard command once per test run, into a temporary
// directory.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-cluster-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "switchboard")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/switchboard").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// procNode is a node running as a process of its own.
type procNode struct {
	name       string
	url        string // http://127.0.0.1:port
	metricsURL string
	cmd        *exec.Cmd
	exited     chan struct{}

	mu  sync.Mutex
	log []string
}

func (n *procNode) id() string    { return n.name }
func (n *procNode) wsURL() string { return "ws" + strings.TrimPrefix(n.url, "http") + "/ws" }

var (
	runningAt  = regexp.MustCompile(`running at (http://\S+?)/?$`)
	metricsAt  = regexp.MustCompile(`serving metrics" addr=(http://\S+/metrics)`)
	procLogMax = 300
)

// startProc starts a node process of the cluster at redisURL, with the test's
// relaxed liveness, and waits until it serves.
func startProc(t *testing.T, redisURL, name string) *procNode {
	t.Helper()
	n := &procNode{name: name, exited: make(chan struct{})}
	n.cmd = exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0", "--ice-loopback", "--ice-tcp-port", "0", "--redis", redisURL,
		"--cluster-secret", testSecret, "--node-id", name, "--metrics-addr", "127.0.0.1:0", "--drain-timeout", "0",
		"--ws-ping-interval", "10s", "--ws-pong-timeout", "20s",
		"--ice-disconnected-timeout", "10s", "--ice-failed-timeout", "20s")
	stdout, _ := n.cmd.StdoutPipe()
	stderr, _ := n.cmd.StderrPipe()
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 2)
	go n.read(stdout, runningAt, urls)
	go n.read(stderr, metricsAt, urls)
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(n.kill)
	deadline := time.After(30 * time.Second)
	for n.url == "" || n.metricsURL == "" {
		select {
		case u := <-urls:
			if strings.HasSuffix(u, "/metrics") {
				n.metricsURL = u
			} else {
				n.url = u
			}
		case <-n.exited:
			t.Fatalf("node %s exited:\n%s", name, n.output())
		case <-deadline:
			t.Fatalf("node %s did not start:\n%s", name, n.output())
		}
	}
	return n
}

// read keeps the lines of r and sends the first match of re.
func (n *procNode) read(r io.Reader, re *regexp.Regexp, found chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		n.mu.Lock()
		if n.log = append(n.log, line); len(n.log) > procLogMax {
			n.log = n.log[1:]
		}
		n.mu.Unlock()
		if m := re.FindStringSubmatch(line); m != nil && !sent {
			sent = true
			found <- m[1]
		}
	}
}

func (n *procNode) output() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.log, "\n")
}

// kill sends SIGKILL and waits for the process.
func (n *procNode) kill() {
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// gauge reads a metric without labels from the node's /metrics.
func (n *procNode) gauge(name string) (float64, error) {
	resp, err := http.Get(n.metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("%s has no %s", n.metricsURL, name)
}

// peerConnections is the node's peer_connections from /healthz.
func (n *procNode) peerConnections() (int, error) {
	resp, err := http.Get(n.url + "/healthz")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "peer_connections "); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("no peer_connections in %q", b)
}
