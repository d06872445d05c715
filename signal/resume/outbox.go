package resume

import (
	"errors"
	"sync"
)

const (
	// queueSize bounds the events not yet written to the client's connection,
	// attached or not: as for a live WebSocket, a client that lets 256 pile up is not
	// reading, and a session whose connection stays away that long has more to catch
	// up than is useful.
	queueSize = 256
	// replaySize bounds the events kept for a reconnecting client. It is larger than
	// queueSize because events written to a connection that then dropped may never have
	// reached the client: those are replayed too.
	replaySize = 2 * queueSize
)

// Why Attach or Take refuses.
var (
	ErrTooOld   = errors.New("the events after this id are no longer kept")
	ErrFuture   = errors.New("this event id was never sent")
	ErrEnded    = errors.New("the session has ended")
	ErrTakeover = errors.New("another connection took over the session")
)

// Outbox is a resumable session's signal.Outbox: every message gets the next
// sequence number and is kept for replay. At most one connection (an SSE stream, a
// WebSocket) is attached at a time; it takes what it has not written yet with Take.
// mu guards everything.
type Outbox struct {
	mu       sync.Mutex
	events   [][]byte // events[i] has sequence number first+i
	first    uint64
	next     uint64 // sequence number of the next message; messages count from 1
	written  uint64 // highest sequence number handed to a connection
	gen      uint64 // attachment generation; a connection holds the one it attached with
	wake     chan struct{}
	attached bool
	ended    bool
	reason   error
}

// NewOutbox returns an empty outbox, with no connection attached.
func NewOutbox() *Outbox {
	return &Outbox{first: 1, next: 1, wake: make(chan struct{}, 1)}
}

// Send queues msg for the connection, attached or not. It never blocks; it reports false
// when the session has ended or queueSize events are waiting.
func (o *Outbox) Send(msg []byte) bool {
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

func (o *Outbox) signalLocked() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Attach makes a new connection the session's only one, resuming after the event last
// (0 for a new session: everything). A connection attached before is told to stop.
// It returns the connection's generation and the channel that signals events for it.
func (o *Outbox) Attach(last uint64) (uint64, <-chan struct{}, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.ended:
		return 0, nil, ErrEnded
	case last >= o.next:
		return 0, nil, ErrFuture
	case last+1 < o.first:
		return 0, nil, ErrTooOld
	}
	close(o.wake) // the previous connection, if any, wakes and finds itself stale
	o.wake = make(chan struct{}, 1)
	o.gen++
	o.attached = true
	o.written = last
	if o.next-1 > last {
		o.signalLocked()
	}
	return o.gen, o.wake, nil
}

// Take returns the events a connection of generation gen has not written yet, with the
// sequence number of the first, and marks them written. ended reports that the
// session is over: write what was returned and stop. ErrTakeover means another connection
// attached since.
func (o *Outbox) Take(gen uint64) (events [][]byte, from uint64, ended bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen {
		return nil, 0, false, ErrTakeover
	}
	from = o.written + 1
	events = append(events, o.events[from-o.first:]...)
	o.written = o.next - 1
	return events, from, o.ended, nil
}

// Detach records that the connection of generation gen is gone, and reports whether it
// was the attached one (so that the grace period starts).
func (o *Outbox) Detach(gen uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen || !o.attached {
		return false
	}
	o.attached = false
	return true
}

// DetachedSince reports whether no connection attached after generation gen left.
func (o *Outbox) DetachedSince(gen uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return gen == o.gen && !o.attached && !o.ended
}

// End refuses further messages and wakes the connection so that it writes what is left.
func (o *Outbox) End(reason error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ended = true
	o.reason = reason
	o.signalLocked()
}

// EndReason is why the session ended, once it has.
func (o *Outbox) EndReason() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reason
}
