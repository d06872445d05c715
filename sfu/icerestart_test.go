package sfu

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// iceUfrag is the first ICE username fragment of sdp.
func iceUfrag(sdp string) string {
	for line := range strings.SplitSeq(sdp, "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return u
		}
	}
	return ""
}

// TestSubscriberRestartICE: RestartICE makes the next offer carry new ICE
// credentials, with the same tracks; one asked for while an offer is out waits for
// its answer.
func TestSubscriberRestartICE(t *testing.T) {
	s, rec := newTestSubscriber(t)
	client := newAnswerer(t)
	s.add(publishedTrack("a", webrtc.RTPCodecTypeVideo))
	first := nextOffer(t, rec)

	if err := s.RestartICE(); err != nil {
		t.Fatal(err)
	}
	noOffer(t, s, rec, "the first offer is not answered yet")
	if err := s.Answer(answer(t, client, first)); err != nil {
		t.Fatal(err)
	}
	restart := nextOffer(t, rec)
	if a, b := iceUfrag(first.sdp), iceUfrag(restart.sdp); a == "" || a == b {
		t.Errorf("ICE ufrag %q before the restart, %q after: want a new one", a, b)
	}
	if trackIDs(restart.tracks) != trackIDs(first.tracks) {
		t.Errorf("the restart offers %s, want %s", trackIDs(restart.tracks), trackIDs(first.tracks))
	}
	if err := s.Answer(answer(t, client, restart)); err != nil {
		t.Fatal(err)
	}
	noOffer(t, s, rec, "nothing changed after the restart")
}
