package sse

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/wire"
)

// FuzzPost posts arbitrary bodies to a session, one POST per NUL-separated part of
// the input, in real rooms. Each POST is answered with a status the transport
// documents, the session's events are well-formed messages, nothing panics, and the
// session leaves its room when it ends.
func FuzzPost(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping","id":"1"}`,
		"{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\"}\x00{\"type\":\"chat\",\"text\":\"hi\"}\x00{\"type\":\"leave\"}\x00{\"type\":\"ping\"}",
		"{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\"}\x00{\"type\":\"candidate\",\"target\":\"subscriber\",\"candidate\":{\"candidate\":\"\"}}",
		"\x00\x00not json\x00{\"type\":7}",
		string(bytes.Repeat([]byte("x"), wire.MaxMessageSize+1)),
	} {
		f.Add([]byte(seed))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := sfu.NewEngine(sfu.Config{ICELoopback: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	rooms := sfu.NewRooms(engine)
	cfg := &signal.Config{Rooms: rooms, Logger: log}
	f.Fuzz(func(t *testing.T, input []byte) {
		h := New(context.Background(), cfg, Options{Logger: log})
		s := h.newSession(signal.Access{})
		gen, _, _ := s.out.Attach(0)
		for body := range bytes.SplitSeq(input, []byte{0}) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/sse/"+s.id, bytes.NewReader(body))
			r.SetPathValue("session", s.id)
			r.Header.Set("Authorization", "Bearer "+s.secret)
			h.ServeHTTP(w, r)
			switch w.Code {
			case http.StatusNoContent, http.StatusNotFound, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("POST answered %d %s", w.Code, w.Body)
			}
		}
		done := make(chan struct{})
		go func() { h.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the session did not end")
		}
		if n := rooms.Len(); n != 0 {
			t.Fatalf("%d rooms left after the session ended", n)
		}
		events, _, _, _ := s.out.Take(gen)
		for _, ev := range events {
			var m struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(ev, &m); err != nil || m.Type == "" {
				t.Fatalf("event %q is not a message", ev)
			}
		}
	})
}
