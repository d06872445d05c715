// Package safe keeps a panic in code that serves one client from ending the process:
// a function that defers Recover (a goroutine's top, a callback, one operation of a
// queue) stops at its own panic, which is logged at Error with its stack and counted,
// and the caller's onPanic ends what the code served (one session, one track, one
// connection). Recover is deferred where the code starts, rather than wrapped around
// it by a Go helper, so that each site orders it against its other deferred calls
// (a WaitGroup's Done, a channel closed when the goroutine ends).
//
// It does not make a panic harmless: state the panicking code held may be half
// changed. Callers end the client or track the code served rather than go on.
package safe

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
)

// panics counts the panics recovered in this process.
var panics atomic.Int64

// Count is how many panics Recover has stopped in this process since it started.
func Count() int64 { return panics.Load() }

// Error is what a recovered panic becomes for code that wants an error: What names
// the code that panicked, Value is what it panicked with.
type Error struct {
	What  string
	Value any
}

func (e *Error) Error() string { return fmt.Sprintf("panic in %s: %v", e.What, e.Value) }

// Recover stops a panic of the function that defers it, logs it on log at Error with
// what (the code that panicked: "signal handler join"), the panic's value and the
// goroutine's stack, counts it, and then calls onPanic (nil: nothing) with the panic
// as an *Error. It must be deferred directly: defer safe.Recover(log, what, onPanic).
// Without a panic it does nothing, and costs no allocation.
func Recover(log *slog.Logger, what string, onPanic func(error)) {
	v := recover()
	if v == nil {
		return
	}
	err := Report(log, what, v)
	if onPanic != nil {
		onPanic(err)
	}
}

// Report logs and counts the panic v that the caller has recovered itself (for code
// that builds what or its logger only once a panic happened), and returns it as an
// *Error. It must be called from the deferred function, so that the stack it logs is
// the panic's.
func Report(log *slog.Logger, what string, v any) error {
	panics.Add(1)
	if log == nil {
		log = slog.Default()
	}
	log.Error("panic recovered", "in", what, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	return &Error{What: what, Value: v}
}
