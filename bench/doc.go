// Package bench is the load generator of `switchboard bench`: synthetic publishers
// and subscribers (Pion peers) that send stamped VP8 and Opus packets through a
// server and measure what comes out: connection success, time to first packet,
// delivered rate, loss and one-way latency, and, given the server's pid, the
// server's CPU time and memory. Baseline measures the yardstick those figures are
// quoted against: a plain UDP relay that seals each packet with AES-128-GCM.
//
// Every peer runs in this process on this machine, so one-way latency is measured
// against one clock.
package bench
