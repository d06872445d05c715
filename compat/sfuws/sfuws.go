// Package sfuws speaks the signaling protocol of Pion's sfu-ws example
// (github.com/pion/example-webrtc-applications, sfu-ws), so that clients written for it
// join Switchboard rooms and see, and are seen by, native clients. See docs/compat.md.
//
// The protocol: one WebSocket per client; each message is a JSON object
// {"event": "offer" | "answer" | "candidate", "data": "<JSON string>"}. The server
// offers on the client's single peer connection (one audio and one video transceiver
// receiving from the client, plus one sending transceiver per track of the room); the
// client answers and trickles its candidates.
package sfuws

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/internal/reqid"
	"github.com/switchboard-rtc/switchboard/internal/wsconn"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
)

const (
	// DefaultRoom is the room of clients that name none: the sfu-ws example has one.
	DefaultRoom = "sfu-ws"
	// maxMessageSize bounds one message from the client: an answer for a room of a
	// hundred tracks is about 100 KiB, escaped twice (a JSON string inside JSON).
	maxMessageSize = 512 << 10
)

// Rooms is what the handler needs of the room directory.
type Rooms interface {
	JoinWith(room sfu.RoomID, name string, obs sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error)
}

// Handler accepts sfu-ws clients: the room is the "room" query parameter (DefaultRoom
// without it), the display name the "name" parameter ("sfu-ws" without it).
type Handler struct {
	// Rooms is where clients join. Required.
	Rooms Rooms
	// OriginPatterns are the hosts, other than the request's own, whose pages may
	// connect. Empty means same-origin only.
	OriginPatterns []string
	// MessagesPerSecond and MessageBurst limit the messages of each client as the
	// native protocol does (see signal.Limits): beyond them messages are dropped, since
	// the protocol has no error message, and a client that goes on at more than twice
	// the rate is disconnected with status 1008. Zero means 20 per second with bursts
	// of 50; a negative rate means no limit.
	MessagesPerSecond float64
	MessageBurst      int
	// PingInterval and PongTimeout: the server pings every PingInterval, and a client
	// that does not answer within PongTimeout is gone. Zero means 5 s each.
	PingInterval, PongTimeout time.Duration
	// Context ends every connection when done: the server's lifetime. Nil means none.
	Context context.Context
	// Logger receives logs; nil means slog.Default().
	Logger *slog.Logger
	// Admit, when set, decides before the upgrade whether the request may join room
	// and with which options (identity, grants). When it refuses it has answered the
	// request itself. Nil admits everyone with no options.
	Admit func(w http.ResponseWriter, r *http.Request, room sfu.RoomID) (sfu.JoinOptions, bool)
}

// ServeHTTP checks the room and name, admits the request, upgrades it and joins the
// room; the participant leaves when the connection ends, and the close status says why.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	room, name := r.URL.Query().Get("room"), r.URL.Query().Get("name")
	if room == "" {
		room = DefaultRoom
	}
	if name == "" {
		name = "sfu-ws"
	}
	id, err := roster.ParseRoomID(room)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if name, err = roster.ParseDisplayName(name); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var opts sfu.JoinOptions
	if h.Admit != nil {
		var ok bool
		if opts, ok = h.Admit(w, r, id); !ok {
			return
		}
	}
	opts.Transport, opts.LogAttrs = "sfu-ws", reqid.Attrs(r.Context())
	c, err := wsconn.Accept(w, r, wsconn.Config{
		Name:           "sfu-ws",
		OriginPatterns: h.OriginPatterns,
		ReadLimit:      maxMessageSize,
		PingInterval:   h.PingInterval,
		PongTimeout:    h.PongTimeout,
		Logger:         cmp.Or(h.Logger, slog.Default()).With(reqid.Attrs(r.Context())...),
		CloseStatus:    closeStatus,
	})
	if err != nil {
		return // Accept has written the HTTP error
	}
	k := newConn(c, ratelimit.New(ratelimit.Resolve(h.MessagesPerSecond, h.MessageBurst)))
	k.serve(cmp.Or(h.Context, context.Background()), h.Rooms, id, name, opts)
}
