//go:build !unix

package cluster

// cpuMeter reports no CPU use where the process's usage cannot be read.
type cpuMeter struct{}

func (*cpuMeter) share() float64 { return 0 }
