package safe

import (
	"bytes"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log destination safe for the goroutines that log into it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(out *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(out, nil)).With("participant", "p_1")
}

func TestRecoverStopsAPanicLogsItsStackAndCountsIt(t *testing.T) {
	var out lockedBuffer
	before := Count()
	got := make(chan error, 1)
	go func() {
		defer Recover(testLogger(&out), "test loop", func(err error) { got <- err })
		panic("injected fault")
	}()
	err := <-got
	var pe *Error
	if !errors.As(err, &pe) || pe.What != "test loop" || pe.Value != "injected fault" {
		t.Fatalf("onPanic got %v, want the panic as an *Error", err)
	}
	if n := Count() - before; n != 1 {
		t.Errorf("count grew by %d, want 1", n)
	}
	text := out.String()
	for _, want := range []string{"level=ERROR", "panic recovered", "in=\"test loop\"", "panic=\"injected fault\"",
		"participant=p_1", "safe.TestRecoverStopsAPanicLogsItsStackAndCountsIt"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
}

func TestRecoverWithoutAPanicDoesNothing(t *testing.T) {
	var out lockedBuffer
	before := Count()
	called := false
	func() {
		defer Recover(testLogger(&out), "quiet", func(error) { called = true })
	}()
	if called || Count() != before || out.String() != "" {
		t.Fatalf("without a panic: onPanic called %v, count %d -> %d, log %q", called, before, Count(), out.String())
	}
}

func TestRecoverLetsTheCallerReturnAValue(t *testing.T) {
	var out lockedBuffer
	f := func() (err error) {
		defer Recover(testLogger(&out), "handler", func(e error) { err = e })
		var s []int
		_ = s[len(s)] // a runtime error: index out of range
		return nil
	}
	err := f()
	if err == nil || !strings.Contains(err.Error(), "panic in handler: runtime error: index out of range") {
		t.Fatalf("got %v", err)
	}
}

// TestDeps: every package of the module may import safe (the media core and mesh
// rooms included), so it imports nothing of the module itself.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/switchboard-rtc/switchboard/"
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) && dep != module+"internal/safe" {
			t.Errorf("safe imports %s", dep)
		}
	}
}
