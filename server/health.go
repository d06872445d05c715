package server

import (
	"net/http"
	"strconv"
)

// healthz answers "ok" on its first line while the server serves, then counters in
// the form "name value", one a line: peer_connections, the peer connections the
// server holds (its SFU's; mesh rooms make none, their media flowing between the
// peers). A probe need only read the status or the first line.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	b := []byte("ok\npeer_connections ")
	b = strconv.AppendInt(b, int64(s.OpenConnections()), 10)
	_, _ = w.Write(append(b, '\n'))
}
