package signal

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/wire"
)

// TestErrorSentSeesEveryErrorCode: Config.ErrorSent is told the code of each error
// message the session sends.
func TestErrorSentSeesEveryErrorCode(t *testing.T) {
	var mu sync.Mutex
	var codes []string
	cfg := &Config{Rooms: noRooms{}, JoinTimeout: -1, ErrorSent: func(code string) {
		mu.Lock()
		defer mu.Unlock()
		codes = append(codes, code)
	}}
	out := &box{}
	s := NewSession(cfg, out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	s.Deliver([]byte(`not json`))
	s.Deliver([]byte(`{"type":"no-such-type"}`))
	want := []string{wire.CodeBadJSON, wire.CodeUnknownType}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got := slices.Clone(codes)
		mu.Unlock()
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ErrorSent saw %v, want %v", got, want)
		}
	}
	cancel()
	<-done
}
