package signal

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestSessionsThatNeverJoinAreEnded: a client that only pings, never joining a room,
// is told join-timeout and its session ends once the join deadline passes; a client
// that joined in time is not ended by it.
func TestSessionsThatNeverJoinAreEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := mesh.NewRooms(mesh.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		idleOut, joinedOut := &box{}, &box{}
		idle, idleDone := meshSession(rs, idleOut)
		joined, joinedDone := meshSession(rs, joinedOut)
		defer idle.End(ErrLeft) // on failure: let the bubble's goroutines end
		defer joined.End(ErrLeft)
		joined.Deliver([]byte(`{"type":"join","room":"r","name":"n","mode":"mesh"}`))
		// Pings every 10 s keep both clear of the idle timeout.
		for range 2 {
			idle.Deliver([]byte(`{"type":"ping"}`))
			joined.Deliver([]byte(`{"type":"ping"}`))
			time.Sleep(10 * time.Second)
		}
		synctest.Wait()
		select {
		case err := <-idleDone:
			t.Fatalf("session ended after 20 s without a join, before the deadline: %v", err)
		default:
		}
		for range 2 {
			idle.Deliver([]byte(`{"type":"ping"}`))
			joined.Deliver([]byte(`{"type":"ping"}`))
			time.Sleep(10 * time.Second)
		}
		synctest.Wait()
		expectEnded(t, idleDone, ErrJoinTimeout, 0, "session that never joined still runs 40 s after it opened")
		if got := idleOut.last(); got["type"] != wire.TypeError || got["code"] != wire.CodeJoinTimeout {
			t.Errorf("last message to the client that never joined: %v, want an error with code %s", got, wire.CodeJoinTimeout)
		}
		select {
		case err := <-joinedDone:
			t.Fatalf("session that joined ended: %v", err)
		default:
		}
		joined.Deliver([]byte(`{"type":"leave"}`))
		if err := <-joinedDone; !errors.Is(err, ErrLeft) {
			t.Fatalf("joined session ended with %v, want ErrLeft", err)
		}
	})
}

// TestJoinTimeoutConfigured: Config.JoinTimeout sets the deadline; a negative one
// turns it off.
func TestJoinTimeoutConfigured(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		ends    bool
	}{{5 * time.Second, true}, {-1, false}} {
		synctest.Test(t, func(t *testing.T) {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			s := NewSession(&Config{Rooms: noRooms{}, Logger: log, JoinTimeout: tc.timeout}, &box{})
			done := make(chan error, 1)
			go func() { done <- s.Run(t.Context()) }()
			defer s.End(ErrLeft)
			for range 4 {
				time.Sleep(2 * time.Second)
				s.Deliver([]byte(`{"type":"ping"}`))
			}
			synctest.Wait()
			select {
			case err := <-done:
				if !tc.ends || !errors.Is(err, ErrJoinTimeout) {
					t.Fatalf("timeout %v: session ended with %v", tc.timeout, err)
				}
			default:
				if tc.ends {
					t.Fatalf("timeout %v: session still runs after 8 s", tc.timeout)
				}
			}
		})
	}
}
