package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals returns a context that ends at the first SIGINT or SIGTERM, and
// carries a second stop (see hardStop) that comes with the next one: serve drains at
// the first and stops at once at the second. stop undoes the signal handling.
func stopSignals() (ctx context.Context, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	now := make(chan struct{})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), hardStopKey{}, (<-chan struct{})(now)))
	done := make(chan struct{})
	go func() {
		defer cancel()
		select {
		case <-sigs:
		case <-done:
			return
		}
		cancel()
		select {
		case <-sigs:
			close(now)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
	}
}

type hardStopKey struct{}

// hardStop is the channel closed by a second stop signal; nil (never ready) when
// ctx did not come from stopSignals.
func hardStop(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(hardStopKey{}).(<-chan struct{})
	return ch
}
