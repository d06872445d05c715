package signal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/wire"
)

// meshSession runs a session that can join the mesh rooms rs, answering through out.
func meshSession(rs *mesh.Rooms, out Outbox) (*Session, chan error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewSession(&Config{Rooms: noRooms{}, Mesh: rs, Logger: log}, out)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	return s, done
}

// id is the participant id of the session's client, from its joined message.
func (b *box) id() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if m["type"] == wire.TypeJoined {
			return m["participant"].(map[string]any)["id"].(string)
		}
	}
	return ""
}

// count is how many messages of type typ b holds.
func (b *box) count(typ string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		if m["type"] == typ {
			n++
		}
	}
	return n
}

// TestMeshSlowPeer: a peer whose queue is full is dropped from the room (its
// session ends as a slow consumer, the others are told it left); relays between the
// others go on, none of them waiting for it.
func TestMeshSlowPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := mesh.NewRooms(mesh.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		aOut, bOut, slowOut := &box{}, &box{}, &box{limit: 3}
		a, _ := meshSession(rs, aOut)
		b, _ := meshSession(rs, bOut)
		slow, slowDone := meshSession(rs, slowOut)
		for _, s := range []*Session{a, b, slow} {
			s.Deliver([]byte(`{"type":"join","room":"r","name":"n","mode":"mesh"}`))
			synctest.Wait()
		}
		toB := fmt.Appendf(nil, `{"type":"relay","to":%q,"data":{}}`, bOut.id())
		toSlow := fmt.Appendf(nil, `{"type":"relay","to":%q,"data":{}}`, slowOut.id())
		for i := range 10 {
			a.Deliver(toSlow)
			a.Deliver(toB)
			b.Deliver(toSlow)
			if i == 5 {
				synctest.Wait()
			}
		}
		if err := <-slowDone; !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("slow peer's session ended with %v, want ErrSlowConsumer", err)
		}
		synctest.Wait()
		if got := bOut.count(wire.TypeRelay); got != 10 {
			t.Errorf("b got %d of alice's 10 relays", got)
		}
		for name, out := range map[string]*box{"a": aOut, "b": bOut} {
			if out.count(wire.TypeParticipantLeft) != 1 {
				t.Errorf("%s was not told the slow peer left", name)
			}
		}
		if got := len(rs.Room("r").Peers()); got != 2 {
			t.Errorf("%d peers in the room, want 2", got)
		}
		for _, s := range []*Session{a, b} {
			s.Deliver([]byte(`{"type":"leave"}`))
		}
	})
}

// TestRelayFlood: a client over its relay rate gets flood errors; one that keeps
// on far over it is cut off; one that slows down is not.
func TestRelayFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := mesh.NewRooms(mesh.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		out, peerOut := &box{}, &box{}
		s, done := meshSession(rs, out)
		peer, _ := meshSession(rs, peerOut)
		s.Deliver([]byte(`{"type":"join","room":"r","name":"n","mode":"mesh"}`))
		peer.Deliver([]byte(`{"type":"join","room":"r","name":"n","mode":"mesh"}`))
		synctest.Wait()
		frame := fmt.Appendf(nil, `{"type":"relay","to":%q,"data":{}}`, peerOut.id())
		for range relayBurst + 10 {
			s.Deliver(frame)
		}
		synctest.Wait()
		if got := out.count(wire.TypeError); got != 10 {
			t.Errorf("%d errors after a burst 10 over, want 10 flood errors", got)
		}
		if code := out.last()["code"]; code != wire.CodeFlood {
			t.Errorf("error %v, want %s", code, wire.CodeFlood)
		}
		// Within the rate again: admitted, and the session goes on.
		for range 20 {
			synctest.Wait()
			sleepSecond()
			s.Deliver(frame)
		}
		select {
		case err := <-done:
			t.Fatalf("session ended within the rate: %v", err)
		default:
		}
		// Far over it, for good: cut off.
		for range 3 * relayBurst {
			if !s.Deliver(frame) {
				break
			}
		}
		if err := <-done; !errors.Is(err, ErrFlood) {
			t.Fatalf("flooding session ended with %v, want ErrFlood", err)
		}
		if code := out.last()["code"]; code != wire.CodeFlood {
			t.Errorf("last message %v, want a flood error", out.last())
		}
		peer.Deliver([]byte(`{"type":"leave"}`))
	})
}

func sleepSecond() { time.Sleep(time.Second) }
