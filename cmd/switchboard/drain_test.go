package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// servedProcess is the serve command running in this test's process, stopped by real
// signals sent to the process.
type servedProcess struct {
	url  string // http://host:port/
	errc chan error
	stop func()
}

// startServe runs serve with args, its signals handled as main does.
func startServe(t *testing.T, args ...string) *servedProcess {
	t.Helper()
	ctx, stop := stopSignals()
	out, w := io.Pipe()
	sp := &servedProcess{errc: make(chan error, 1), stop: stop}
	go func() {
		err := serve(ctx, append([]string{"--addr", "127.0.0.1:0", "--ice-loopback", "--ice-tcp-port", "0"}, args...), w, io.Discard)
		_ = w.CloseWithError(err)
		sp.errc <- err
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		t.Fatalf("serve did not start: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
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

// signal sends SIGTERM to this process.
func (sp *servedProcess) signal(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
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

// callPeer is a participant of a call: it publishes video, and counts what it receives.
type callPeer struct {
	*client.Client
	received  atomic.Uint64
	stopMedia context.CancelFunc
}

func joinCall(t *testing.T, sp *servedProcess, name string) *callPeer {
	t.Helper()
	p := &callPeer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, sp.wsURL(), "call", name, client.Options{
		OnTrack: func(_ wire.Track, track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			buf := make([]byte, 1500)
			for {
				if _, _, err := track.Read(buf); err != nil {
					return
				}
				p.received.Add(1)
			}
		}})
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	p.Client = c
	video, err := client.NewVideoTrack("video", name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, video, "camera"); err != nil {
		t.Fatalf("%s: publish: %v", name, err)
	}
	mctx, stop := context.WithCancel(context.Background())
	p.stopMedia = stop
	go client.SendSynthetic(mctx, video, 100_000)
	t.Cleanup(p.leave)
	return p
}

func (p *callPeer) leave() {
	p.stopMedia()
	p.Close()
}

// receiving waits until every peer has received more packets than it had.
func receiving(t *testing.T, peers ...*callPeer) {
	t.Helper()
	before := make([]uint64, len(peers))
	for i, p := range peers {
		before[i] = p.received.Load()
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, p := range peers {
		for p.received.Load() <= before[i]+10 {
			if time.Now().After(deadline) {
				t.Fatalf("peer %d: %d packets received, no more since %d", i, p.received.Load(), before[i])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// waitDraining waits until the server reports it drains.
func waitDraining(t *testing.T, sp *servedProcess) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for sp.status(t, "readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still ready after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// toldDraining waits for the draining message on c.
func toldDraining(t *testing.T, c *client.Client) wire.Draining {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.Events():
			if e.Type == wire.TypeDraining {
				return e.Draining()
			}
		case <-timeout:
			t.Fatal("no draining message")
		}
	}
}

// TestDrain: on SIGTERM the server drains: a call in progress goes on, new sessions
// and joins are refused with draining, /readyz answers 503 and /healthz 200; serve
// returns nil when the last participant leaves, at the drain timeout, or at once on
// a second SIGTERM.
func TestDrain(t *testing.T) {
	t.Run("last leaves", func(t *testing.T) {
		sp := startServe(t, "--drain-timeout", "1m")
		a, b := joinCall(t, sp, "a"), joinCall(t, sp, "b")
		receiving(t, a, b)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		late, err := client.Connect(ctx, sp.wsURL()+"?room=call", client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer late.Close()

		sp.signal(t)
		waitDraining(t, sp)
		if got := sp.status(t, "healthz"); got != http.StatusOK {
			t.Errorf("/healthz while draining: %d, want 200", got)
		}
		if d := toldDraining(t, a.Client); d.Deadline == "" {
			t.Errorf("draining message without the deadline of --drain-timeout")
		}
		toldDraining(t, b.Client)
		receiving(t, a, b)

		// A session already open may not join; a new one is not opened.
		reply, err := late.Request(ctx, wire.TypeJoin, wire.Join{Room: "call", Name: "late"})
		if err != nil || reply.Type != wire.TypeError || reply.Error().Code != wire.CodeDraining {
			t.Errorf("join while draining: %v, %v; want error %s", reply, err, wire.CodeDraining)
		}
		resp, err := http.Get(sp.url + "ws?room=call")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(body), `"draining"`) {
			t.Errorf("new session while draining: %d, Retry-After %q, %s; want 503, draining, Retry-After",
				resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}

		a.leave()
		select {
		case err := <-sp.errc:
			t.Fatalf("serve returned with a participant still in: %v", err)
		case <-time.After(500 * time.Millisecond):
		}
		b.leave()
		if err := sp.exited(t, 10*time.Second); err != nil {
			t.Errorf("serve: %v, want nil (exit status 0)", err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		sp := startServe(t, "--drain-timeout", "2s")
		a, b := joinCall(t, sp, "a"), joinCall(t, sp, "b")
		receiving(t, a, b)
		start := time.Now()
		sp.signal(t)
		waitDraining(t, sp)
		receiving(t, a, b)
		if err := sp.exited(t, 10*time.Second); err != nil {
			t.Errorf("serve: %v, want nil (exit status 0)", err)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("serve returned %v after SIGTERM, before the drain timeout of 2s", d)
		}
	})

	t.Run("second signal", func(t *testing.T) {
		sp := startServe(t, "--drain-timeout", "1m")
		a, b := joinCall(t, sp, "a"), joinCall(t, sp, "b")
		receiving(t, a, b)
		sp.signal(t)
		waitDraining(t, sp)
		sp.signal(t)
		if err := sp.exited(t, 5*time.Second); err != nil {
			t.Errorf("serve: %v, want nil (exit status 0)", err)
		}
	})
}
