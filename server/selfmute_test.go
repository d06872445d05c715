package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestSelfMuteIsShownToTheRoom: a client that mutes one of its sources tells the room
// with a mute message; everyone, its own client included, hears of each of its tracks
// of that source through track-muted with selfMuted, a track published while muted is
// announced muted, a late joiner finds the state in joined, and a bad source is
// refused without ending the session.
func TestSelfMuteIsShownToTheRoom(t *testing.T) {
	ts := startServer(t)
	const room = "quiet"
	alice := joinPeer(t, ts, room, "alice")
	bob := joinPeer(t, ts, room, "bob")
	mute := func(source string, muted bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := alice.Send(ctx, wire.TypeMute, wire.Mute{Source: source, Muted: muted}); err != nil {
			t.Fatalf("mute %s: %v", source, err)
		}
	}

	// Muted before publishing: the microphone is announced muted, the camera not.
	mute("microphone", true)
	alice.publishAV()
	mic := waitEvent(t, bob.Client, func(m client.Event) bool {
		return m.Type == wire.TypeTrackPublished && m.Track().Source == "microphone"
	}, "bob told of alice's microphone").Track()
	if !mic.SelfMuted || mic.Muted {
		t.Errorf("alice's microphone, published while muted: %+v", mic)
	}
	waitEvent(t, bob.Client, func(m client.Event) bool {
		return m.Type == wire.TypeTrackPublished && m.Track().Source == "camera" && !m.Track().SelfMuted
	}, "bob told of alice's camera, not muted")

	// Unmuting and muting the camera reach everyone, alice included.
	mute("microphone", false)
	mute("camera", true)
	for _, p := range []*peer{alice, bob} {
		waitEvent(t, p.Client, func(m client.Event) bool {
			return m.Type == wire.TypeTrackMuted && m.Track().ID == mic.ID && !m.Track().SelfMuted
		}, p.name+" told alice's microphone is on again")
		waitEvent(t, p.Client, func(m client.Event) bool {
			return m.Type == wire.TypeTrackMuted && m.Track().Source == "camera" && m.Track().SelfMuted
		}, p.name+" told alice's camera is muted")
	}
	bob.receivesFrom(t, 20, alice) // forwarding goes on: a muted source sends silence

	// A late joiner finds the state in joined.
	carol := joinPeer(t, ts, room, "carol")
	muted := map[string]bool{}
	for _, p := range carol.Present {
		for _, tr := range p.Tracks {
			if p.ID == alice.Self.ID {
				muted[tr.Source] = tr.SelfMuted
			}
		}
	}
	if !muted["camera"] || muted["microphone"] {
		t.Errorf("carol's joined: alice's tracks muted %v, want camera only", muted)
	}

	// A source that does not exist is refused; the session goes on.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := alice.Request(ctx, wire.TypeMute, wire.Mute{Source: "keyboard", Muted: true})
	if err != nil || reply.Type != wire.TypeError || reply.Error().Code != wire.CodeBadRequest {
		t.Fatalf("mute of an unknown source: %v %v", reply, err)
	}
	mute("camera", false)
	waitEvent(t, bob.Client, func(m client.Event) bool {
		return m.Type == wire.TypeTrackMuted && m.Track().Source == "camera" && !m.Track().SelfMuted
	}, "bob told alice's camera is on again, after the refused mute")
}
