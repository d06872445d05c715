package whip

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
)

// publish answers POST /whip/{room}: the offer's tracks become a new participant's.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request) {
	h.cors(w)
	room, offer, ok := h.readOffer(w, r, true)
	if !ok {
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "whip-" + randomHex(4)
	}
	if len(name) > maxNameSize {
		writeError(w, http.StatusBadRequest, "name is longer than 64 bytes")
		return
	}
	obs := &publisherEvents{}
	p, err := h.cfg.Rooms.Join(room, name, obs)
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
	s := &publisherSession{id: "w_" + string(p.ID()), p: p}
	h.created(w, "whip", s, answer, func() { obs.setFailed(func() { h.endLater(s.ID()) }) })
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
	room, offer, ok := h.readOffer(w, r, false)
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
	s := &viewerSession{v: v}
	h.created(w, "whep", s, answer, func() { ended.set(func() { h.endLater(s.ID()) }) })
}

// created registers s and writes 201 with its Location and the answer. registered
// runs once s can be found by its id.
func (h *Handler) created(w http.ResponseWriter, kind string, s resource, answer string, registered func()) {
	location, ok := h.add(kind, s)
	if !ok {
		s.Close()
		writeError(w, http.StatusServiceUnavailable, errShuttingDown.Error())
		return
	}
	if registered != nil {
		registered()
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/sdp")
	hdr.Set("Location", location)
	hdr.Set("ETag", h.etag(s.ID()))
	hdr.Set("Accept-Patch", sdpFragType)
	h.linkICEServers(w)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer))
	h.log.Info("session started", "kind", kind, "resource", s.ID())
}

// readOffer checks a POST's authorization, content type and body. It writes the
// error response and returns false when one fails.
func (h *Handler) readOffer(w http.ResponseWriter, r *http.Request, publish bool) (sfu.RoomID, string, bool) {
	room := sfu.RoomID(r.PathValue("room"))
	if !roomName.MatchString(string(room)) {
		writeError(w, http.StatusBadRequest, "room: 1 to 64 letters, digits, '-', '_' or '.'")
		return "", "", false
	}
	if !h.authorized(w, r, room, publish) {
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

// roomName is the rule for room names, the native protocol's.
var roomName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
