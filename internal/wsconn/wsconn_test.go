package wsconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/internal/keepalive"
	"github.com/switchboard-rtc/switchboard/internal/safe"
)

var (
	errDone  = errors.New("done")
	errOther = errors.New("other")
)

// testStatus is the test transport's mapping: errDone is a normal end, errOther a
// policy violation, anything else (a failed read, say) 4000 with the error's text.
func testStatus(reason error) (websocket.StatusCode, string) {
	switch {
	case errors.Is(reason, errDone):
		return websocket.StatusNormalClosure, "done"
	case errors.Is(reason, errOther):
		return websocket.StatusPolicyViolation, "other"
	}
	return 4000, fmt.Sprint(reason)
}

// session is a test Session. The handler calls accepted (nil: none) before it serves
// the session; Run calls run (nil: none), then waits for End or ctx; Deliver calls
// deliver (nil: it echoes the frame through the connection). Every reason End is
// given goes to ends too, while there is room.
type session struct {
	c        *Conn
	ended    chan error
	ends     chan error
	accepted func(s *session)
	run      func(s *session)
	deliver  func(frame []byte) bool
}

func newSession() *session { return &session{ended: make(chan error, 1), ends: make(chan error, 16)} }

func (s *session) Deliver(frame []byte) bool {
	if s.deliver != nil {
		return s.deliver(frame)
	}
	if !s.c.Send(frame) {
		s.End(errors.New("echo: queue full"))
	}
	return true
}

func (s *session) End(err error) {
	select {
	case s.ended <- err:
	default:
	}
	select {
	case s.ends <- err:
	default:
	}
}

// endedWith waits until End is given an error that is target, and fails the test if
// that does not come.
func (s *session) endedWith(t *testing.T, target error) {
	t.Helper()
	var got []error
	timeout := time.After(15 * time.Second)
	for {
		select {
		case err := <-s.ends:
			if errors.Is(err, target) {
				return
			}
			got = append(got, err)
		case <-timeout:
			t.Fatalf("the session was ended with %v, none of them %v", got, target)
		}
	}
}

func (s *session) Run(ctx context.Context) error {
	if s.run != nil {
		s.run(s)
	}
	select {
	case err := <-s.ended:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serve starts a server that accepts each connection with cfg (CloseStatus testStatus
// unless set) and serves s on it, and returns its WebSocket URL and the reasons Serve
// returned. It checks, once the test is over, that no goroutine is left.
func serve(t *testing.T, cfg Config, s *session) (url string, served <-chan error) {
	t.Helper()
	checkGoroutines(t)
	if cfg.CloseStatus == nil {
		cfg.CloseStatus = testStatus
	}
	cfg.Name = "test"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	reasons := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, cfg)
		if err != nil {
			return
		}
		s.c = c
		if s.accepted != nil {
			s.accepted(s)
		}
		reasons <- c.Serve(context.Background(), s)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), reasons
}

// checkGoroutines fails the test if, once it is over and cleaned up, more goroutines
// run than before it.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for n := runtime.NumGoroutine(); n > before; n = runtime.NumGoroutine() {
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines running, %d before the test", n, before)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func dial(t *testing.T, url string) (*websocket.Conn, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c, ctx
}

// readUntilClose reads messages until the connection ends, and returns them and the
// close status the server sent.
func readUntilClose(ctx context.Context, c *websocket.Conn) ([]string, websocket.CloseError, error) {
	var msgs []string
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return msgs, ce, nil
			}
			return msgs, ce, err
		}
		msgs = append(msgs, string(msg))
	}
}

func wait(t *testing.T, served <-chan error) error {
	t.Helper()
	select {
	case err := <-served:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Serve has not returned")
		return nil
	}
}

// TestEchoAndClientClose: frames reach the session in order, what it sends reaches
// the client, and a client's close ends the session with a read error.
func TestEchoAndClientClose(t *testing.T) {
	url, served := serve(t, Config{}, newSession())
	c, ctx := dial(t, url)
	for _, m := range []string{"one", "two", "three"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != m {
			t.Fatalf("echo of %q: got %q, %v", m, got, err)
		}
	}
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	if err := wait(t, served); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("Serve returned %v, want the client's close (1000)", err)
	}
}

// TestSendReportsAFullQueue: Send queues up to QueueSize messages and refuses the
// next without blocking; what it queued is written before the close.
func TestSendReportsAFullQueue(t *testing.T) {
	s := newSession()
	accepted := make(chan []bool, 1)
	s.accepted = func(s *session) { // before Serve: no writer takes from the queue yet
		var got []bool
		for _, m := range []string{"a", "b", "c"} {
			got = append(got, s.c.Send([]byte(m)))
		}
		accepted <- got
		s.End(errDone)
	}
	url, served := serve(t, Config{QueueSize: 2}, s)
	c, ctx := dial(t, url)
	msgs, ce, err := readUntilClose(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-accepted; fmt.Sprint(got) != "[true true false]" {
		t.Errorf("Send with a queue of 2 returned %v, want [true true false]", got)
	}
	if strings.Join(msgs, ",") != "a,b" || ce.Code != websocket.StatusNormalClosure || ce.Reason != "done" {
		t.Errorf("client got %q then %v, want a, b then 1000 done", msgs, ce)
	}
	if err := wait(t, served); !errors.Is(err, errDone) {
		t.Errorf("Serve returned %v", err)
	}
}

// TestDrainOnStop: messages queued when the session ends are all written, in order,
// before the close status.
func TestDrainOnStop(t *testing.T) {
	const n = 200
	s := newSession()
	s.run = func(s *session) {
		for i := range n {
			if !s.c.Send(fmt.Appendf(nil, "m%d", i)) {
				s.End(fmt.Errorf("Send %d refused", i))
				return
			}
		}
		s.End(errOther)
	}
	url, served := serve(t, Config{}, s)
	c, ctx := dial(t, url)
	msgs, ce, err := readUntilClose(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n || msgs[0] != "m0" || msgs[n-1] != fmt.Sprintf("m%d", n-1) {
		t.Errorf("client got %d messages (%q...), want the %d queued, in order", len(msgs), msgs[:min(3, len(msgs))], n)
	}
	if ce.Code != websocket.StatusPolicyViolation || ce.Reason != "other" {
		t.Errorf("close %v, want 1008 other", ce)
	}
	if err := wait(t, served); !errors.Is(err, errOther) {
		t.Errorf("Serve returned %v", err)
	}
}

// TestWriteTimeout: a client that does not read makes a write block once the
// socket's buffers are full; the write times out and ends the session.
func TestWriteTimeout(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20)
	s := newSession()
	s.run = func(s *session) {
		for s.c.Send(big) {
		}
	}
	url, served := serve(t, Config{QueueSize: 64, WriteTimeout: 200 * time.Millisecond}, s)
	c, _ := dial(t, url) // and never read
	s.endedWith(t, context.DeadlineExceeded)
	_ = c.CloseNow()
	wait(t, served)
}

// TestPongTimeout: a client that does not read does not answer pings; the session
// ends with keepalive.ErrPongTimeout.
func TestPongTimeout(t *testing.T) {
	s := newSession()
	url, served := serve(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: 100 * time.Millisecond}, s)
	c, _ := dial(t, url) // and never read
	s.endedWith(t, keepalive.ErrPongTimeout)
	_ = c.CloseNow() // the server's close waits for the client's close frame otherwise
	if err := wait(t, served); !errors.Is(err, keepalive.ErrPongTimeout) {
		t.Fatalf("Serve returned %v, want ErrPongTimeout", err)
	}
}

// TestCloseStatus: the client gets the status the transport maps the reason to, its
// text cut to fit a close frame at a character boundary, but for the reasons the
// connection gives itself, mapped the same for every transport.
func TestCloseStatus(t *testing.T) {
	long := strings.Repeat("a", 119) + "é and more"
	for _, c := range []struct {
		reason error
		code   websocket.StatusCode
		text   string
	}{
		{errDone, websocket.StatusNormalClosure, "done"},
		{fmt.Errorf("wrapped: %w", errOther), websocket.StatusPolicyViolation, "other"},
		{errors.New(long), 4000, strings.Repeat("a", 119)},
		// The connection's own reasons, whatever the transport's mapping says:
		{&safe.Error{What: "test", Value: "fault"}, websocket.StatusInternalError, "internal error"},
		{fmt.Errorf("ping: %w", keepalive.ErrPongTimeout), websocket.StatusPolicyViolation, "no pong"},
		{fmt.Errorf("read: %w", context.Canceled), websocket.StatusGoingAway, "server shutting down"},
	} {
		s := newSession()
		s.run = func(s *session) { s.End(c.reason) }
		url, served := serve(t, Config{}, s)
		conn, ctx := dial(t, url)
		_, ce, err := readUntilClose(ctx, conn)
		if err != nil || ce.Code != c.code || ce.Reason != c.text {
			t.Errorf("%v: close %v (%v), want %d %q", c.reason, ce, err, c.code, c.text)
		}
		if err := wait(t, served); !errors.Is(err, c.reason) {
			t.Errorf("Serve returned %v, want %v", err, c.reason)
		}
	}
}

func TestCutText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{strings.Repeat("a", 120), strings.Repeat("a", 120)},
		{strings.Repeat("a", 121), strings.Repeat("a", 120)},
		{strings.Repeat("a", 118) + "€€", strings.Repeat("a", 118)}, // € is 3 bytes
		{strings.Repeat("a", 117) + "€€", strings.Repeat("a", 117) + "€"},
	} {
		if got := cutText(c.in); got != c.want {
			t.Errorf("cutText(%d bytes) = %q, want %q", len(c.in), got, c.want)
		}
	}
}

// TestPanicInReaderCallback: a panic in Deliver ends only its connection, with 1011
// "internal error" whatever the transport's mapping says; it is counted, and Serve
// returns it as a *safe.Error.
func TestPanicInReaderCallback(t *testing.T) {
	s := newSession()
	s.deliver = func(frame []byte) bool {
		if string(frame) == "boom" {
			panic("injected fault: reader")
		}
		return true
	}
	url, served := serve(t, Config{}, s)
	before := safe.Count()
	c, ctx := dial(t, url)
	if err := c.Write(ctx, websocket.MessageText, []byte("boom")); err != nil {
		t.Fatal(err)
	}
	_, ce, err := readUntilClose(ctx, c)
	if err != nil || ce.Code != websocket.StatusInternalError || ce.Reason != "internal error" {
		t.Errorf("close %v (%v), want 1011 internal error", ce, err)
	}
	err = wait(t, served)
	if pe, ok := errors.AsType[*safe.Error](err); !ok || pe.What != "test reader" {
		t.Errorf("Serve returned %v, want the panic of the test reader", err)
	}
	if n := safe.Count() - before; n != 1 {
		t.Errorf("%d panics counted, want 1", n)
	}
}

// TestReadLimit: a message over ReadLimit closes the connection with 1009.
func TestReadLimit(t *testing.T) {
	url, served := serve(t, Config{ReadLimit: 16}, newSession())
	c, ctx := dial(t, url)
	if err := c.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("x"), 17)); err != nil {
		t.Fatal(err)
	}
	if _, ce, err := readUntilClose(ctx, c); err != nil || ce.Code != websocket.StatusMessageTooBig {
		t.Errorf("close %v (%v), want 1009", ce, err)
	}
	wait(t, served)
}

// TestForeignOriginRefused: a page of another origin is refused before the upgrade.
func TestForeignOriginRefused(t *testing.T) {
	url, _ := serve(t, Config{}, newSession())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://elsewhere.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial from another origin: %v, want 403", err)
	}
}

// TestDeps: wsconn serves every WebSocket transport, so it imports none of them, nor
// the protocols or the media core: of this module, only internal/safe and
// internal/keepalive.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/switchboard-rtc/switchboard/"
	allowed := map[string]bool{
		module + "internal/wsconn": true, module + "internal/safe": true, module + "internal/keepalive": true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) && !allowed[dep] {
			t.Errorf("wsconn imports %s", dep)
		}
	}
}
