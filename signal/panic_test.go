package signal

import (
	"testing"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/wire"
)

// TestPanicInHandlerEndsOnlyTheSession adds a message type whose handler panics: the
// client gets an internal error in reply, its session ends with ErrInternal, the
// panic is counted, and another session goes on answering.
func TestPanicInHandlerEndsOnlyTheSession(t *testing.T) {
	handlers["test-panic"] = handler{run: func(*Session, string, []byte) error { panic("injected fault") }}
	t.Cleanup(func() { delete(handlers, "test-panic") })
	before := safe.Count()

	out, other := &box{}, &box{}
	s, done := runSession(out)
	o, otherDone := runSession(other)
	defer func() {
		o.End(ErrLeft)
		<-otherDone
	}()
	s.Deliver([]byte(`{"type":"test-panic","id":"r1"}`))
	expectEnded(t, done, ErrInternal, 10*time.Second, "session still running 10 s after its handler panicked")
	if m := out.last(); m["type"] != "error" || m["code"] != wire.CodeInternal || m["re"] != "r1" || m["message"] != "internal error" {
		t.Errorf("the client got %v, want an internal error for r1 without detail", m)
	}
	if n := safe.Count() - before; n != 1 {
		t.Errorf("%d panics counted, want 1", n)
	}
	if !o.Deliver([]byte(`{"type":"ping","id":"p1"}`)) {
		t.Fatal("the other session has ended")
	}
	deadline := time.Now().Add(10 * time.Second)
	for m := other.last(); m == nil || m["type"] != "pong"; m = other.last() {
		if time.Now().After(deadline) {
			t.Fatalf("the other session did not answer its ping: last message %v", m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPanicInMediaCoreEndsTheSessionWithInternalError: a panic the media core stopped
// in code serving the participant reaches the observer as Failed with a *safe.Error;
// the client is told "internal" and the session ends with ErrInternal.
func TestPanicInMediaCoreEndsTheSessionWithInternalError(t *testing.T) {
	out := &box{}
	s, done := runSession(out)
	s.obs.Failed(&safe.Error{What: "ICE candidate callback", Value: "injected fault"})
	expectEnded(t, done, ErrInternal, 10*time.Second, "session still running 10 s after Failed")
	if m := out.last(); m["type"] != "error" || m["code"] != wire.CodeInternal || m["message"] != "internal error" {
		t.Errorf("the client got %v, want an internal error without detail", m)
	}
}

// TestPanicInMeshMemberEndsTheSession: a mesh room whose call into this member's
// observer panicked tells it Failed; the client is told "internal" and the session
// ends with ErrInternal.
func TestPanicInMeshMemberEndsTheSession(t *testing.T) {
	out := &box{}
	s, done := runSession(out)
	var obs mesh.Observer = &meshObserver{s: s}
	f, ok := obs.(mesh.Failer)
	if !ok {
		t.Fatal("the mesh observer cannot be told to end its member")
	}
	f.Failed(&safe.Error{What: "chat notice", Value: "injected fault"})
	expectEnded(t, done, ErrInternal, 10*time.Second, "session still running 10 s after Failed")
	if m := out.last(); m["type"] != "error" || m["code"] != wire.CodeInternal {
		t.Errorf("the client got %v, want an internal error", m)
	}
}
