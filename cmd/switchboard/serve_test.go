package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// servedProcess is the serve command running in this test's process, stopped by real
// signals sent to the process.
type servedProcess struct {
	url   string      // http://host:port/ (https with TLS)
	lines chan string // what serve printed after the URL, up to a point
	errc  chan error
	stop  func()
}

// startServe runs serve with args, its signals handled as main does.
func startServe(t *testing.T, args ...string) *servedProcess {
	t.Helper()
	ctx, stopSig := stopSignals()
	stop := sync.OnceFunc(stopSig) // by the test, then by the cleanup
	out, w := io.Pipe()
	sp := &servedProcess{lines: make(chan string, 64), errc: make(chan error, 1), stop: stop}
	go func() {
		err := serve(ctx, append([]string{"--addr", "127.0.0.1:0", "--ice-loopback", "--ice-tcp-port", "0"}, args...), w, io.Discard)
		_ = w.CloseWithError(err)
		sp.errc <- err
	}()
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil {
		stop()
		t.Fatalf("serve did not start: %v", err)
	}
	go keepLines(r, sp.lines)
	sp.url = strings.TrimSpace(strings.TrimPrefix(line, "Switchboard is running at "))
	t.Cleanup(func() {
		stop()
		select {
		case <-sp.errc:
		default:
		}
	})
	return sp
}

// keepLines puts r's lines on lines while it has room, and reads on to the end.
func keepLines(r *bufio.Reader, lines chan<- string) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		select {
		case lines <- strings.TrimSuffix(line, "\n"):
		default:
		}
	}
}

// exited waits up to within for serve to return, and reports its error.
func (sp *servedProcess) exited(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-sp.errc:
		return err
	case <-time.After(within):
		t.Fatalf("serve still running %v later", within)
		return nil
	}
}

func (sp *servedProcess) wsURL() string { return "ws" + strings.TrimPrefix(sp.url, "http") + "ws" }

func (sp *servedProcess) status(t *testing.T, path string) int {
	t.Helper()
	resp, err := http.Get(sp.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
