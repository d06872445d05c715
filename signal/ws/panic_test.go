package ws

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// noRooms refuses every join; the test needs no media.
type noRooms struct{}

func (noRooms) JoinWith(sfu.RoomID, string, sfu.Observers, sfu.JoinOptions) (*sfu.Participant, error) {
	return nil, errors.New("no rooms here")
}

// TestPanicInWriterEndsOnlyItsConnection makes the writer of one connection panic
// when it writes a pong: that connection closes with 1011 (internal error), the
// panic is counted, a second connection still gets its pong, and no goroutine is
// left once the server closes.
func TestPanicInWriterEndsOnlyItsConnection(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	writeHook = func(msg []byte) {
		if strings.Contains(string(msg), `"re":"doomed"`) {
			panic("injected fault: writer")
		}
	}
	t.Cleanup(func() { writeHook = nil })
	h := &Handler{Config: &signal.Config{Rooms: noRooms{}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(h)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	before := safe.Count()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	doomed, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := doomed.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":"doomed"}`)); err != nil {
		t.Fatal(err)
	}
	_, _, err = doomed.Read(ctx)
	if status := websocket.CloseStatus(err); status != websocket.StatusInternalError {
		t.Fatalf("the connection whose writer panicked ended with %v, want status 1011", err)
	}
	if n := safe.Count() - before; n != 1 {
		t.Errorf("%d panics counted, want 1", n)
	}
	if err := other.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":"fine"}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := other.Read(ctx); err != nil || !strings.Contains(string(msg), `"type":"pong"`) {
		t.Fatalf("the other connection got %q, %v; want its pong", msg, err)
	}
	_ = other.Close(websocket.StatusNormalClosure, "")
	_ = doomed.CloseNow()
	srv.Close()
	deadline := time.Now().Add(10 * time.Second)
	for n := runtime.NumGoroutine(); n > goroutines; n = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines running, %d before the test", n, goroutines)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
