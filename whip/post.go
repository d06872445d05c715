package whip

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/peraddr"
	"github.com/switchboard-rtc/switchboard/internal/reqid"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// publish answers POST /whip/{room}: the offer's tracks become a new participant's,
// with the identity and grants admission found in the request's token.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request) {
	h.cors(w)
	room, offer, ok := h.readOffer(w, r)
	if !ok {
		return
	}
	access := signal.AccessFrom(r.Context())
	name := access.Name
	if name == "" {
		name = r.URL.Query().Get("name")
	}
	if name == "" {
		name = "whip-" + randomHex(4)
	}
	name, err := roster.ParseDisplayName(name)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	obs := &publisherEvents{}
	p, err := h.cfg.Rooms.JoinWith(room, name, obs.observers(), sfu.JoinOptions{Identity: access.Identity, Grants: access.Grants,
		Transport: "whip", LogAttrs: reqid.Attrs(r.Context())})
	if err != nil {
		writeMediaError(w, err)
		return
	}
	answer, err := answerPublisher(r, p, offer)
	if err != nil {
		p.Leave()
		writeMediaError(w, err)
		return
	}
	s := &session{resource: &publisherSession{p: p}, kind: "whip", room: room, owner: access,
		attrs: []any{"participant", p.ID()}, openedBy: reqid.From(r.Context())}
	h.created(w, r, s, answer, func(id string) { obs.setFailed(func() { h.endLater(id) }) })
}

func answerPublisher(r *http.Request, p *sfu.Participant, offer string) (string, error) {
	if _, err := p.Publisher().Answer(offer, nil); err != nil {
		return "", err
	}
	ctx, cancel := answerContext(r)
	defer cancel()
	return p.Publisher().LocalDescription(ctx)
}

// watch answers POST /whep/{room}[/{participant}] with a new viewer.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request) {
	h.cors(w)
	room, offer, ok := h.readOffer(w, r)
	if !ok {
		return
	}
	want := sfu.ParticipantID(r.PathValue("participant"))
	// The connection may fail, or an administrator remove the viewer, before the
	// session is registered.
	ended := &ender{}
	v, err := h.cfg.Rooms.Watch(room, want, ended.ask)
	if err != nil {
		writeMediaError(w, err)
		return
	}
	ctx, cancel := answerContext(r)
	defer cancel()
	answer, err := v.Answer(ctx, offer)
	if err != nil {
		v.Close()
		writeMediaError(w, err)
		return
	}
	s := &session{resource: &viewerSession{v: v}, kind: "whep", room: room, owner: signal.AccessFrom(r.Context()),
		attrs: []any{"viewer", v.ID()}, openedBy: reqid.From(r.Context())}
	h.created(w, r, s, answer, func(id string) { ended.set(func() { h.endLater(id) }) })
}

// created registers s and writes 201 with its Location and the answer. registered
// runs with s's id once s can be found by it. The session keeps the request's slot
// of its client address's limit until it ends.
func (h *Handler) created(w http.ResponseWriter, r *http.Request, s *session, answer string, registered func(id string)) {
	s.release = peraddr.Keep(r.Context())
	id, ok := h.add(s)
	if !ok {
		s.Close()
		writeError(w, http.StatusServiceUnavailable, errShuttingDown.Error())
		return
	}
	registered(id)
	hdr := w.Header()
	hdr.Set("Content-Type", "application/sdp")
	hdr.Set("Location", "/"+s.kind+"/resource/"+id)
	hdr.Set("ETag", h.etag(id))
	hdr.Set("Accept-Patch", sdpFragType)
	who := s.owner.Identity
	if who == "" {
		who = id
	}
	h.linkICEServers(w, who, true)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer))
	h.logFor(r, id, s).Info("session started")
}

// readOffer checks a POST's room, content type and body. It writes the
// error response and returns false when one fails.
func (h *Handler) readOffer(w http.ResponseWriter, r *http.Request) (sfu.RoomID, string, bool) {
	room, err := roster.ParseRoomID(r.PathValue("room"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", "", false
	}
	if !hasContentType(r, "application/sdp") {
		writeError(w, http.StatusUnsupportedMediaType, "the offer must be application/sdp")
		return "", "", false
	}
	body, ok := readBody(w, r, maxSDPSize)
	if !ok {
		return "", "", false
	}
	// Parse before anything joins the room, so a bad offer disturbs nobody.
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(body)}
	if _, err := offer.Unmarshal(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid SDP offer: "+err.Error())
		return "", "", false
	}
	return room, offer.SDP, true
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
