package sfu

import "sync"

// opQueue runs closures one at a time, in the order they were posted, on a goroutine
// of its own. Posting never waits. After each batch of queued operations has run, the
// optional idle hook runs on the same goroutine: that is where coalesced work (such as
// sending one offer for several track changes) happens.
type opQueue struct {
	idle func()

	mu     sync.Mutex
	ops    []func()
	closed bool

	wake chan struct{}
	done chan struct{}
}

func newOpQueue(idle func()) *opQueue {
	q := &opQueue{idle: idle, wake: make(chan struct{}, 1), done: make(chan struct{})}
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
// the queue is closed. It must not be called from the queue's own goroutine.
func (q *opQueue) do(op func()) bool {
	finished := make(chan struct{})
	if !q.post(func() { op(); close(finished) }) {
		return false
	}
	select {
	case <-finished:
		return true
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
				op()
			}
			if q.idle != nil && !closed {
				q.idle()
			}
		}
	}
}
