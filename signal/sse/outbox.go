package sse

import (
	"errors"
	"sync"
)

const (
	// queueSize bounds the events not yet written to the client's stream, attached or
	// not: as for WebSocket, a client that lets 256 pile up is not reading, and a
	// session whose stream stays away that long has more to catch up than is useful.
	queueSize = 256
	// replaySize bounds the events kept for a reconnecting stream. It is larger than
	// queueSize because events written to a stream that then dropped may never have
	// reached the client: those are replayed too.
	replaySize = 2 * queueSize
)

var (
	errTooOld   = errors.New("the events after this id are no longer kept")
	errFuture   = errors.New("this event id was never sent")
	errEnded    = errors.New("the session has ended")
	errTakeover = errors.New("another stream took over the session")
)

// outbox is a session's Outbox for Server-Sent Events: every message gets the next
// sequence number and is kept for replay. At most one stream is attached at a time; it
// takes what it has not written yet with take. mu guards everything.
type outbox struct {
	mu       sync.Mutex
	events   [][]byte // events[i] has sequence number first+i
	first    uint64
	next     uint64 // sequence number of the next message; the session event is 0
	written  uint64 // highest sequence number handed to a stream
	gen      uint64 // attachment generation; a stream holds the one it attached with
	wake     chan struct{}
	attached bool
	ended    bool
	reason   error
}

func newOutbox() *outbox {
	return &outbox{first: 1, next: 1, wake: make(chan struct{}, 1)}
}

// Send queues msg for the stream, attached or not. It never blocks; it reports false
// when the session has ended or queueSize events are waiting.
func (o *outbox) Send(msg []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ended || o.next-1-o.written >= queueSize {
		return false
	}
	o.events = append(o.events, msg)
	o.next++
	if len(o.events) > replaySize {
		// Shift in bulk so that the slice does not grow without bound.
		drop := len(o.events) - replaySize
		o.events = append(o.events[:0:0], o.events[drop:]...)
		o.first += uint64(drop)
	}
	o.signalLocked()
	return true
}

func (o *outbox) signalLocked() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// attach makes a new stream the session's only one, resuming after the event last
// (0 for a new session: everything). A stream attached before is told to stop. It
// returns the stream's generation and the channel that signals events for it.
func (o *outbox) attach(last uint64) (uint64, <-chan struct{}, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.ended:
		return 0, nil, errEnded
	case last >= o.next:
		return 0, nil, errFuture
	case last+1 < o.first:
		return 0, nil, errTooOld
	}
	close(o.wake) // the previous stream, if any, wakes and finds itself stale
	o.wake = make(chan struct{}, 1)
	o.gen++
	o.attached = true
	o.written = last
	if o.next-1 > last {
		o.signalLocked()
	}
	return o.gen, o.wake, nil
}

// take returns the events a stream of generation gen has not written yet, with the
// sequence number of the first, and marks them written. ended reports that the
// session is over: write what was returned and stop. errTakeover means another stream
// attached since.
func (o *outbox) take(gen uint64) (events [][]byte, from uint64, ended bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen {
		return nil, 0, false, errTakeover
	}
	from = o.written + 1
	events = append(events, o.events[from-o.first:]...)
	o.written = o.next - 1
	return events, from, o.ended, nil
}

// detach records that the stream of generation gen is gone, and reports whether it
// was the attached one (so that the grace period starts).
func (o *outbox) detach(gen uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen || !o.attached {
		return false
	}
	o.attached = false
	return true
}

// detachedSince reports whether no stream attached after generation gen left.
func (o *outbox) detachedSince(gen uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return gen == o.gen && !o.attached && !o.ended
}

// end refuses further messages and wakes the stream so that it writes what is left.
func (o *outbox) end(reason error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ended = true
	o.reason = reason
	o.signalLocked()
}

// endReason is why the session ended, once it has.
func (o *outbox) endReason() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reason
}
