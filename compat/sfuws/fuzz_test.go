package sfuws

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/fuzzconn"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// FuzzFrames writes arbitrary bytes to an sfu-ws connection after its upgrade, in a
// real room: frames well or badly formed, answers and candidates valid or not, then
// end of file. The handler never panics, closes the connection, and leaves no one in
// the room.
func FuzzFrames(f *testing.F) {
	for _, seed := range [][]byte{
		fuzzconn.Text(`{"event":"candidate","data":"{\"candidate\":\"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\"}"}`),
		fuzzconn.Text(`{"event":"answer","data":"{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}"}`),
		fuzzconn.Text(`{"event":"offer","data":"{}"}`),
		append(fuzzconn.Frame(9, nil), fuzzconn.Close()...),
		fuzzconn.Text(`[]`),
	} {
		f.Add(seed)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := sfu.NewEngine(sfu.Config{ICELoopback: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	rooms := sfu.NewRooms(engine)
	srv := fuzzconn.New(&Handler{Rooms: rooms, Logger: log})
	f.Cleanup(srv.Close)
	upgrade := fuzzconn.Upgrade("/compat/sfu-ws?room=r", "")
	f.Fuzz(func(t *testing.T, frames []byte) {
		got, err := srv.Exchange(append(upgrade[:len(upgrade):len(upgrade)], frames...), 20*time.Second)
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
