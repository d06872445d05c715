package bench

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD of getrusage(2) on Linux: the calling thread's times.
const rusageThread = 1

// threadCPU is the calling thread's user and system time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
