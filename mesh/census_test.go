package mesh

import (
	"maps"
	"testing"
)

func TestCensusCountsMembersByTransport(t *testing.T) {
	rs := NewRooms(Config{Logger: quiet()})
	for _, j := range []struct {
		room      RoomID
		transport string
	}{{"a", "websocket"}, {"a", "sse"}, {"b", "websocket"}, {"b", ""}} {
		m, err := rs.JoinWith(j.room, "x", newRecorder(), JoinOptions{Transport: j.transport})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Leave)
	}
	want := map[string]int{"websocket": 2, "sse": 1, "other": 1}
	if got := rs.Census(); !maps.Equal(got, want) {
		t.Errorf("census %v, want %v", got, want)
	}
}
