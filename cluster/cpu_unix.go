//go:build unix

package cluster

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// cpuMeter measures the share of the machine's cores this process used between
// two readings.
type cpuMeter struct {
	mu       sync.Mutex
	lastCPU  time.Duration
	lastWall time.Time
}

// share is the CPU used since the previous call, as a share of all cores (0..1).
func (c *cpuMeter) share() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	prevCPU, prevWall := c.lastCPU, c.lastWall
	c.lastCPU, c.lastWall = used, now
	if prevWall.IsZero() {
		return 0
	}
	wall := now.Sub(prevWall)
	if wall <= 0 {
		return 0
	}
	s := float64(used-prevCPU) / float64(wall) / float64(runtime.NumCPU())
	return min(max(s, 0), 1)
}
