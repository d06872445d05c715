package signal

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// wireCodes are the error codes a client may be sent.
var wireCodes = []string{wire.CodeBadJSON, wire.CodeUnknownType, wire.CodeBadRequest, wire.CodeNotJoined, wire.CodeAlreadyJoined,
	wire.CodeInvalidSDP, wire.CodeInvalidCandidate, wire.CodeNoOffer, wire.CodeInternal}

// FuzzSession hands a session arbitrary frames (one per line of the input), in real
// rooms: before join, the join itself, and after it (offers, answers, candidates,
// chat). Whatever arrives, the session answers only with well-formed messages and
// known error codes, never panics, and leaves its room when it ends.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping","id":"1"}`,
		"{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\"}\n{\"type\":\"chat\",\"text\":\"hi\"}\n{\"type\":\"leave\"}",
		"{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\"}\n{\"type\":\"candidate\",\"target\":\"publisher\",\"candidate\":{\"candidate\":\"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\"}}",
		"{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\"}\n{\"type\":\"subscribe-answer\",\"sdp\":\"v=0\"}",
		"{\"type\":\"chat\"}\n{\"type\":\"nope\"}\n[1,2]\n{}",
	} {
		f.Add([]byte(seed))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := sfu.NewEngine(sfu.Config{ICELoopback: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	rooms := sfu.NewRooms(engine)
	cfg := &Config{Rooms: rooms, Logger: log}
	f.Fuzz(func(t *testing.T, input []byte) {
		out := &frameBox{}
		s := NewSession(cfg, out)
		done := make(chan error, 1)
		go func() { done <- s.Run(context.Background()) }()
		for frame := range bytes.SplitSeq(input, []byte("\n")) {
			if !s.Deliver(frame) {
				break
			}
		}
		s.End(context.Canceled)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("session did not end")
		}
		if n := rooms.Len(); n != 0 {
			t.Fatalf("%d rooms left after the session ended", n)
		}
		for _, msg := range out.all() {
			checkServerMessage(t, msg)
		}
	})
}

// checkServerMessage fails unless msg is a JSON object with a type, and an error
// message has a known code and a message.
func checkServerMessage(t *testing.T, msg []byte) {
	t.Helper()
	var m struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(msg, &m); err != nil || m.Type == "" {
		t.Fatalf("server sent %q: not a message (%v)", msg, err)
	}
	if m.Type == wire.TypeError && (!slices.Contains(wireCodes, m.Code) || m.Message == "") {
		t.Fatalf("server sent error %q: unknown code or no message", msg)
	}
}
