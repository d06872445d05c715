//go:build race

package sfu

// raceEnabled: the race detector makes sync.Pool drop some of what is put back, so
// code that reuses pooled memory (x/net's sendmmsg scratch space) allocates now and
// then.
const raceEnabled = true
