package signal

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-rtc/switchboard/wire"
)

func runLimited(out Outbox, l Limits) (*Session, chan error) {
	s := NewSession(&Config{Rooms: noRooms{}, Limits: l}, out)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	return s, done
}

// TestRateLimit: a burst is served; beyond it each message is refused with
// rate-limited and its request id; the client may go on at its rate; a client that
// keeps sending far over it is disconnected.
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &box{}
		s, done := runLimited(out, Limits{MessagesPerSecond: 10, MessageBurst: 20})
		ping := func(id string) map[string]any {
			s.Deliver(fmt.Appendf(nil, `{"type":"ping","id":%q}`, id))
			synctest.Wait()
			return out.last()
		}
		for i := range 20 {
			if got := ping(fmt.Sprint("b", i)); got["type"] != wire.TypePong {
				t.Fatalf("message %d of the burst: %v, want a pong", i, got)
			}
		}
		got := ping("over")
		if got["type"] != wire.TypeError || got["code"] != wire.CodeRateLimited || got["re"] != "over" || got["message"] == "" {
			t.Fatalf("beyond the burst: %v, want error rate-limited re \"over\"", got)
		}
		// At the rate, everything is served again.
		for i := range 30 {
			time.Sleep(100 * time.Millisecond)
			if got := ping(fmt.Sprint("r", i)); got["type"] != wire.TypePong {
				t.Fatalf("message %d at the rate: %v, want a pong", i, got)
			}
		}
		// A flood: 20 served (the refilled burst), 20 refused, then the end.
		refused := 0
		for i := 0; ; i++ {
			if !s.Deliver([]byte(`{"type":"ping"}`)) {
				break
			}
			synctest.Wait()
			if m := out.last(); m["code"] == wire.CodeRateLimited {
				refused++
			}
			if i > 1000 {
				t.Fatal("a flood of 1000 messages was never cut off")
			}
		}
		if err := <-done; !errors.Is(err, ErrRateLimited) {
			t.Fatalf("session ended with %v, want ErrRateLimited", err)
		}
		if refused < 19 || refused > 21 {
			t.Errorf("%d messages refused before the cut, want about the burst (20)", refused)
		}
	})
}

// TestNoRateLimit: a negative rate turns the limit off.
func TestNoRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &box{}
		s, _ := runLimited(out, Limits{MessagesPerSecond: -1})
		for range 500 {
			s.Deliver([]byte(`{"type":"ping"}`))
		}
		synctest.Wait()
		if n := len(out.msgs); n != 500 {
			t.Fatalf("%d answers to 500 pings, want 500", n)
		}
		s.End(context.Canceled)
	})
}

// TestLeaveOverRate: a leave is never refused for the message rate. A client over
// its rate (its messages refused with rate-limited), and one whose next message would
// get it disconnected, each leave at once: the session ends with ErrLeft. A leave the
// session cannot handle (its id is not a string) counts as any other message.
func TestLeaveOverRate(t *testing.T) {
	for _, over := range []int{1, 4} { // pings refused: some; all but the last refusal before the cut
		t.Run(fmt.Sprint(over, " refused"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out := &box{}
				s, done := runLimited(out, Limits{MessagesPerSecond: 1, MessageBurst: 5})
				defer s.End(context.Canceled) // on failure: let the bubble's goroutines end
				for range 5 + over {
					s.Deliver([]byte(`{"type":"ping"}`))
				}
				synctest.Wait()
				if m := out.last(); m["code"] != wire.CodeRateLimited {
					t.Fatalf("after %d pings: %v, want the last refused with rate-limited", 5+over, m)
				}
				s.Deliver([]byte(`{"type":"leave","id":5}`))
				synctest.Wait()
				if m := out.last(); m["code"] != wire.CodeRateLimited || len(done) > 0 {
					t.Fatalf("a leave that does not decode, over the rate: %v, want it refused with rate-limited", m)
				}
				s.Deliver([]byte(`{"type":"leave"}`))
				synctest.Wait()
				expectEnded(t, done, ErrLeft, 0,
					fmt.Sprintf("leave over the rate: the session goes on; last message to the client %v", out.last()))
			})
		})
	}
}
