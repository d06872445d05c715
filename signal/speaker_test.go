package signal

import (
	"fmt"
	"testing"

	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestActiveSpeakersMessage: the media core's speaker ranking reaches the client as
// an active-speaker message, in order, and as an empty array when nobody speaks.
func TestActiveSpeakersMessage(t *testing.T) {
	out := &box{}
	o := &observer{s: NewSession(&Config{Rooms: noRooms{}, JoinTimeout: -1}, out)}
	if o.observers().Speakers == nil {
		t.Fatal("the session does not listen to the room's speakers")
	}
	o.ActiveSpeakers([]sfu.ParticipantID{"p_b", "p_a"})
	o.ActiveSpeakers(nil)
	if n := out.count(wire.TypeActiveSpeaker); n != 2 {
		t.Fatalf("%d active-speaker messages, want 2", n)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if got := fmt.Sprint(out.msgs[0]["participants"]); got != "[p_b p_a]" {
		t.Errorf("first message lists %s, want [p_b p_a]", got)
	}
	if got, ok := out.msgs[1]["participants"].([]any); !ok || len(got) != 0 {
		t.Errorf("nobody speaking: participants %#v, want an empty array", out.msgs[1]["participants"])
	}
}
