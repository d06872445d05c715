//go:build !linux

package bench

import "time"

// threadCPU is 0: only Linux has a thread's own CPU time at hand (getrusage's
// RUSAGE_THREAD), and a process's would count the receivers too. The baseline then
// reports its packets without CPU figures.
func threadCPU() time.Duration { return 0 }
