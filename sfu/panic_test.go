package sfu

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/switchboard-rtc/switchboard/internal/safe"
)

// packetReader hands out the same packet n times, then io.EOF: a publisher that
// sends n packets and stops.
type packetReader struct {
	packet []byte
	n      int
}

func (r *packetReader) Read(b []byte) (int, interceptor.Attributes, error) {
	if r.n == 0 {
		return 0, nil, io.EOF
	}
	r.n--
	return copy(b, r.packet), nil, nil
}

// panicWriter is a subscriber's write stream that panics: a fault in one down-track.
type panicWriter struct{}

func (panicWriter) WriteRTP(*rtp.Header, []byte) (int, error) { panic("injected fault: write") }
func (panicWriter) Write([]byte) (int, error)                 { panic("injected fault: write") }

// TestPanicInForwardLoopEndsOnlyThatTrack: a track whose forwarding panics stops at
// its first packet (its loop returns, and the publisher unpublishes it), the panic is
// counted, and another track forwards every packet.
func TestPanicInForwardLoopEndsOnlyThatTrack(t *testing.T) {
	before := safe.Count()
	doomed, _ := newTestTrack(t, 0)
	d := newDownTrack(doomed)
	if _, err := d.Bind(bindContext{ssrc: 6000, writer: panicWriter{}}); err != nil {
		t.Fatal(err)
	}
	doomed.readLoop(&packetReader{packet: testPacket(t), n: 5})
	if got := doomed.Packets(); got != 1 {
		t.Errorf("the track that panicked read %d packets, want 1", got)
	}
	if n := safe.Count() - before; n != 1 {
		t.Errorf("%d panics counted, want 1", n)
	}
	fine, writers := newTestTrack(t, 2)
	fine.readLoop(&packetReader{packet: testPacket(t), n: 5})
	if writers[0].packets != 5 || writers[1].packets != 5 {
		t.Errorf("the other track forwarded %d and %d packets, want 5 each", writers[0].packets, writers[1].packets)
	}
}

// TestPanicInOperationIsReportedAndTheQueueGoesOn: an operation that panics is
// reported to onPanic and its do returns false; the next operations run.
func TestPanicInOperationIsReportedAndTheQueueGoesOn(t *testing.T) {
	failed := make(chan error, 2)
	q := newOpQueue(func() {}, quietLogger(), func(err error) { failed <- err })
	defer q.close()
	before := safe.Count()
	q.post(func() { panic("injected fault: posted") })
	if q.do(func() { panic("injected fault: done") }) {
		t.Error("do of an operation that panicked returned true")
	}
	ran := false
	if !q.do(func() { ran = true }) || !ran {
		t.Fatal("the queue did not run the operation after the panics")
	}
	for range 2 {
		select {
		case err := <-failed:
			if _, ok := errors.AsType[*safe.Error](err); !ok {
				t.Errorf("onPanic got %v, want a *safe.Error", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("onPanic not called 10 s after a panic")
		}
	}
	if n := safe.Count() - before; n != 2 {
		t.Errorf("%d panics counted, want 2", n)
	}
}
