package ws

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/fuzzconn"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// FuzzFrames writes arbitrary bytes to a WebSocket connection after its upgrade:
// frames well or badly formed, fragmented, masked or not, control frames, and the
// messages they carry, then end of file. The handler never panics, closes the
// connection, and leaves no one in a room.
func FuzzFrames(f *testing.F) {
	join := fuzzconn.Text(`{"type":"join","room":"r","name":"a"}`)
	for _, seed := range [][]byte{
		fuzzconn.Text(`{"type":"ping","id":"1"}`),
		cat(join, fuzzconn.Text(`{"type":"chat","text":"hi"}`), fuzzconn.Close()),
		cat(join, fuzzconn.Frame(9, []byte("ping")), fuzzconn.Text(`{"type":"leave"}`)),
		cat(fuzzconn.Frame(1, []byte(`{"type":`))[:8], fuzzconn.Frame(0, []byte(`"ping"}`))),
		fuzzconn.Frame(2, []byte{0, 1, 2}),
		fuzzconn.Frame(1, bytes.Repeat([]byte("x"), 70000)),
	} {
		f.Add(seed)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := sfu.NewEngine(sfu.Config{ICELoopback: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	rooms := sfu.NewRooms(engine)
	srv := fuzzconn.New(&Handler{Config: &signal.Config{Rooms: rooms, Logger: log}, Logger: log})
	f.Cleanup(srv.Close)
	upgrade := fuzzconn.Upgrade("/ws", "")
	f.Fuzz(func(t *testing.T, frames []byte) {
		got, err := srv.Exchange(cat(upgrade, frames), 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 101 ")) {
			t.Fatalf("upgrade answered %.40q", got)
		}
		if n := rooms.Len(); n != 0 {
			t.Fatalf("%d rooms left after the connection closed", n)
		}
	})
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
