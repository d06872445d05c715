package signal

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// noRooms refuses every join; the tests here need no media.
type noRooms struct{}

func (noRooms) JoinWith(sfu.RoomID, string, sfu.Observers, sfu.JoinOptions) (*sfu.Participant, error) {
	return nil, errors.New("no rooms here")
}

// box is an Outbox that keeps what it is given, up to limit messages.
type box struct {
	mu    sync.Mutex
	msgs  []map[string]any
	limit int
}

func (b *box) Send(msg []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 && len(b.msgs) >= b.limit {
		return false
	}
	var m map[string]any
	_ = json.Unmarshal(msg, &m)
	b.msgs = append(b.msgs, m)
	return true
}

func (b *box) last() map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.msgs) == 0 {
		return nil
	}
	return b.msgs[len(b.msgs)-1]
}

func runSession(out Outbox) (*Session, chan error) {
	// No join deadline: these tests are of what else ends a session.
	s := NewSession(&Config{Rooms: noRooms{}, JoinTimeout: -1}, out)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	return s, done
}

func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &box{}
		s, done := runSession(out)
		time.Sleep(20 * time.Second)
		s.Deliver([]byte(`{"type":"ping"}`)) // heard from: the clock restarts
		time.Sleep(25 * time.Second)
		select {
		case err := <-done:
			t.Fatalf("session ended after 25 s of silence: %v", err)
		default:
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		expectEnded(t, done, ErrIdle, 0, "session still running after 35 s of silence")
	})
}

func TestPingAndErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &box{}
		s, done := runSession(out)
		for _, tc := range []struct{ frame, typ, code, re string }{
			{`{"type":"ping","id":"p1"}`, wire.TypePong, "", "p1"},
			{`{"type":"chat","id":"c1","text":"hi"}`, wire.TypeError, wire.CodeNotJoined, "c1"},
			{`{"type":"join","id":"j1","room":"r","name":"n"}`, wire.TypeError, wire.CodeInternal, "j1"},
			{`nonsense`, wire.TypeError, wire.CodeBadJSON, ""},
		} {
			s.Deliver([]byte(tc.frame))
			synctest.Wait()
			got := out.last()
			if got["type"] != tc.typ || (tc.code != "" && got["code"] != tc.code) || (tc.re != "" && got["re"] != tc.re) {
				t.Errorf("%s: got %v, want type %s code %q re %q", tc.frame, got, tc.typ, tc.code, tc.re)
			}
		}
		if got := out.last()["message"]; got == "" {
			t.Error("error without a message")
		}
		s.Deliver([]byte(`{"type":"leave"}`))
		if err := <-done; !errors.Is(err, ErrLeft) {
			t.Fatalf("after leave: %v", err)
		}
		if s.Deliver([]byte(`{"type":"ping"}`)) {
			t.Fatal("an ended session took a frame")
		}
	})
}

func TestSlowConsumerEndsSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, done := runSession(&box{limit: 2})
		for range 3 {
			s.Deliver([]byte(`{"type":"ping"}`))
		}
		if err := <-done; !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("session ended with %v, want ErrSlowConsumer", err)
		}
	})
}

// frameBox is an Outbox that keeps every frame as sent.
type frameBox struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (b *frameBox) Send(msg []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, msg)
	return true
}

func (b *frameBox) all() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

// expectEnded fails the test unless the session whose end done carries has ended
// with want: within within, or by now with 0 (under synctest, after Wait). still
// says what is wrong when it has not ended.
func expectEnded(t *testing.T, done <-chan error, want error, within time.Duration, still string) {
	t.Helper()
	var err error
	if within == 0 {
		select {
		case err = <-done:
		default:
			t.Fatal(still)
		}
	} else {
		select {
		case err = <-done:
		case <-time.After(within):
			t.Fatal(still)
		}
	}
	if !errors.Is(err, want) {
		t.Fatalf("session ended with %v, want %v", err, want)
	}
}
