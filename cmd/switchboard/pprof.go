package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/pprof"
	"strconv"
	"time"
)

// maxProfileSeconds bounds a CPU profile request: a profile runs while the request
// is open.
const maxProfileSeconds = 120

// servePprof serves Go's profiles on addr, a loopback address, until ctx ends:
// GET /debug/pprof/profile?seconds=N (CPU) and /debug/pprof/{name} for the runtime's
// named profiles (heap, goroutine, allocs, mutex, block, threadcreate). It uses
// runtime/pprof directly rather than net/http/pprof, which registers itself on
// http.DefaultServeMux when imported.
func servePprof(ctx context.Context, addr string) (net.Addr, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--pprof: %q is not a loopback address: profiles are not for the network", host)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/profile", cpuProfile)
	mux.HandleFunc("GET /debug/pprof/{name}", namedProfile)
	return serveSide(ctx, "--pprof", addr, mux)
}

func cpuProfile(w http.ResponseWriter, r *http.Request) {
	secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
	if err != nil || secs <= 0 || secs > maxProfileSeconds {
		http.Error(w, fmt.Sprintf("seconds must be 1 to %d", maxProfileSeconds), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := pprof.StartCPUProfile(w); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	select {
	case <-time.After(time.Duration(secs) * time.Second):
	case <-r.Context().Done():
	}
	pprof.StopCPUProfile()
}

func namedProfile(w http.ResponseWriter, r *http.Request) {
	p := pprof.Lookup(r.PathValue("name"))
	if p == nil {
		http.Error(w, "no such profile", http.StatusNotFound)
		return
	}
	debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
	w.Header().Set("Content-Type", "application/octet-stream")
	_ = p.WriteTo(w, debug)
}
