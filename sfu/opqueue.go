package sfu

import (
	"log/slog"
	"sync"

	"github.com/switchboard-rtc/switchboard/internal/safe"
)

// opQueue runs closures one at a time, in the order they were posted, on a goroutine
// of its own. Posting never waits. After each batch of queued operations has run, the
// optional idle hook runs on the same goroutine: that is where coalesced work (such as
// sending one offer for several track changes) happens.
//
// An operation or idle hook that panics is logged with its stack, counted, and the
// queue goes on with the next; onPanic (nil: nothing) is then called on the queue's
// goroutine, to end what the queue serves.
type opQueue struct {
	idle    func()
	log     *slog.Logger
	onPanic func(error)

	mu     sync.Mutex
	ops    []func()
	closed bool

	wake chan struct{}
	done chan struct{}
}

func newOpQueue(idle func(), log *slog.Logger, onPanic func(error)) *opQueue {
	q := &opQueue{idle: idle, log: log, onPanic: onPanic, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

// post queues op and reports whether it was accepted; a closed queue refuses.
func (q *opQueue) post(op func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.ops = append(q.ops, op)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// do runs op on the queue and waits for it. It returns false without running op when
// the queue is closed, and false when op panicked. It must not be called from the
// queue's own goroutine.
func (q *opQueue) do(op func()) bool {
	finished := make(chan struct{})
	completed := false
	if !q.post(func() { defer close(finished); op(); completed = true }) {
		return false
	}
	select {
	case <-finished:
		return completed
	case <-q.done:
		return false
	}
}

// close refuses further operations, lets the queued ones run, and waits for the
// queue's goroutine to end. Safe to call more than once; not from the queue itself.
func (q *opQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
}

// guard runs fn, stopping its panic as the type's comment says.
func (q *opQueue) guard(what string, fn func()) {
	defer safe.Recover(q.log, what, q.onPanic)
	fn()
}

func (q *opQueue) run() {
	defer close(q.done)
	for range q.wake {
		for {
			q.mu.Lock()
			batch, closed := q.ops, q.closed
			q.ops = nil
			q.mu.Unlock()
			if len(batch) == 0 {
				if closed {
					return
				}
				break
			}
			for _, op := range batch {
				q.guard("operation queue", op)
			}
			if q.idle != nil && !closed {
				q.guard("operation queue idle hook", q.idle)
			}
		}
	}
}
