package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/peraddr"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// The connectivity self-test (the browser client's /connectivity page): what the
// server announces, and a throwaway peer to try each path to it with.

// connectivityInfo is the answer of GET /v1/connectivity.
type connectivityInfo struct {
	// Addresses are those of the server's candidates: the public ones it announces,
	// else those of its media port.
	Addresses []string `json:"addresses"`
	// UDPPort is the shared media port (0: a port per connection); ICETCPPort the
	// ICE-TCP port (0: none).
	UDPPort    int `json:"udpPort"`
	ICETCPPort int `json:"iceTcpPort"`
	// TURN are the built-in TURN server's URLs; ICEServers what a client joining
	// now would be handed, credentials included.
	TURN       []string `json:"turn"`
	ICEServers []any    `json:"iceServers"`
	// Echo is where to POST an offer for a throwaway peer, relative to the server's
	// root.
	Echo string `json:"echo"`
}

// connectivity answers GET /v1/connectivity.
func (s *Server) connectivity(w http.ResponseWriter, r *http.Request) {
	info := connectivityInfo{UDPPort: s.engine.UDPPort(), ICETCPPort: s.engine.ICETCPPort(), TURN: s.TURNURLs(),
		Echo: "v1/connectivity/echo", Addresses: s.publicIPs, ICEServers: []any{}}
	if info.TURN == nil {
		info.TURN = []string{}
	}
	if len(info.Addresses) == 0 {
		for _, a := range s.engine.MediaAddrs() {
			info.Addresses = append(info.Addresses, a.String())
		}
	}
	for _, ice := range s.iceServersFor(probeIdentity(r)) {
		info.ICEServers = append(info.ICEServers, ice)
	}
	writeJSON(w, http.StatusOK, info)
}

// probeIdentity is who the credentials of a connectivity check are for: its token's
// identity, else "probe".
func probeIdentity(r *http.Request) string {
	if id := signal.AccessFrom(r.Context()).Identity; id != "" {
		return id
	}
	return "probe"
}

// echoLifetime is how long a connectivity check's peer lives: the page's check
// takes a few seconds per path.
const echoLifetime = 15 * time.Second

// maxEchoOffer bounds an echo offer: one with a data channel and every candidate
// of a browser is a few kilobytes.
const maxEchoOffer = 64 << 10

// echo answers POST /v1/connectivity/echo: an offer (application/sdp) gets the
// answer of a throwaway peer (sfu.Echo) that sends back what the client sends on
// its data channels, and closes after echoLifetime. It holds its slot of the client
// address's sessions until then.
func (s *Server) echo(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
		writeJSONError(w, http.StatusUnsupportedMediaType, "bad-request", "the offer goes as application/sdp")
		return
	}
	offer, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEchoOffer))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "bad-request", "the offer is larger than 64 KiB")
		return
	}
	if !s.startSession() {
		writeJSONError(w, http.StatusServiceUnavailable, "draining", "server is shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	x, answer, err := s.engine.NewEcho(ctx, string(offer))
	if err != nil {
		s.sessions.Done()
		if errors.Is(err, sfu.ErrInvalidSDP) {
			writeJSONError(w, http.StatusBadRequest, "bad-request", err.Error())
			return
		}
		s.requestLog(r).Warn("connectivity echo", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "internal", "the echo peer could not answer")
		return
	}
	go s.endEcho(x, peraddr.Keep(r.Context()))
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// startSession counts a session that Close waits for; false once the server closed.
func (s *Server) startSession() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions.Add(1)
	return true
}

// endEcho closes x after its lifetime, or when the server closes, and frees its slot.
func (s *Server) endEcho(x *sfu.Echo, release func()) {
	defer s.sessions.Done()
	defer release()
	t := time.NewTimer(echoLifetime)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
	x.Close()
}
