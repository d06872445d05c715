package client

import (
	"testing"

	"github.com/switchboard-rtc/switchboard/wire"
)

// TestDecodeEvent: a frame from the server becomes an Event whose accessor for its
// type returns its body, and whose other accessors return zero values.
func TestDecodeEvent(t *testing.T) {
	m, err := decodeEvent([]byte(`{"type":"error","re":"r1","code":"room-full","message":"full"}`))
	if err != nil || m.Type != wire.TypeError || m.Re != "r1" {
		t.Fatalf("error: %v, %v", m, err)
	}
	if e := m.Error(); e.Code != wire.CodeRoomFull || e.Message != "full" {
		t.Errorf("Error() = %+v", e)
	}
	if m.Participant().ID != "" || m.Joined().Room != "" {
		t.Error("an error has a participant or a room")
	}
	if got, want := m.String(), "error re=r1 {Code:room-full Message:full}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	m, err = decodeEvent([]byte(`{"type":"participant-left","participant":{"id":"p_1","name":"Ada","tracks":[]}}`))
	if err != nil || m.Participant().ID != "p_1" || m.Participant().Name != "Ada" || m.Error().Code != "" {
		t.Errorf("participant-left: %v, %v", m, err)
	}
	m, err = decodeEvent([]byte(`{"type":"track-muted","track":{"id":"t","participant":"p","kind":"video","source":"camera","muted":true}}`))
	if err != nil || !m.Track().Muted || m.Track().Source != "camera" {
		t.Errorf("track-muted: %v, %v", m, err)
	}
	m, err = decodeEvent([]byte(`{"type":"pong","re":"p"}`))
	if err != nil || m.Type != wire.TypePong || m.String() != "pong re=p" {
		t.Errorf("pong: %v, %v", m, err)
	}
	m, err = decodeEvent([]byte(`{"type":"future-thing","x":1}`))
	if err != nil || m.Type != "future-thing" {
		t.Errorf("an unknown type: %v, %v; want it handed on without a body", m, err)
	}
	for _, frame := range []string{`nonsense`, `{"type":"joined","participant":7}`} {
		if _, err := decodeEvent([]byte(frame)); err == nil {
			t.Errorf("decodeEvent(%s) took it", frame)
		}
	}
}
