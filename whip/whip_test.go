package whip

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
)

// noRooms is a Rooms in which nothing can be joined: these tests stop before media.
type noRooms struct {
	joins int
	opts  []sfu.JoinOptions
}

func (r *noRooms) JoinWith(_ sfu.RoomID, _ string, _ sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error) {
	r.joins++
	r.opts = append(r.opts, opts)
	return nil, sfu.ErrShuttingDown
}

func (r *noRooms) Watch(sfu.RoomID, sfu.ParticipantID, func()) (*sfu.Viewer, error) {
	return nil, sfu.ErrNoRoom
}

const minimalOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

func serve(t *testing.T, cfg Config) (*httptest.Server, *noRooms) {
	rooms := &noRooms{}
	cfg.Rooms = rooms
	h := New(cfg)
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv, rooms
}

func request(t *testing.T, method, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestPublisherJoinsWithTheRequestsAccess: a WHIP publisher joins with the identity
// and grants that admission put in the request's context.
func TestPublisherJoinsWithTheRequestsAccess(t *testing.T) {
	rooms := &noRooms{}
	h := New(Config{Rooms: rooms})
	grants := &sfu.Grants{Publish: true}
	req := httptest.NewRequest("POST", "/whip/r", strings.NewReader(minimalOffer))
	req.SetPathValue("room", "r")
	req.Header.Set("Content-Type", "application/sdp")
	req = req.WithContext(signal.WithAccess(req.Context(), signal.Access{Identity: "cam-1", Grants: grants}))
	rec := httptest.NewRecorder()
	h.publish(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want the join's 503", rec.Code)
	}
	if rooms.joins != 1 || rooms.opts[0].Identity != "cam-1" || rooms.opts[0].Grants != grants {
		t.Errorf("joins %d with %+v", rooms.joins, rooms.opts)
	}
}

func TestLinkHeadersAnnounceICEServers(t *testing.T) {
	srv, _ := serve(t, Config{ICEServers: []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "u", Credential: "p"},
	}})
	// OPTIONS is answered to anyone (CORS preflights carry no credentials): it
	// names no server that has credentials.
	resp := request(t, "OPTIONS", srv.URL+"/whip/r", "", nil)
	links := resp.Header.Values("Link")
	want := []string{`<stun:stun.example.net>; rel="ice-server"`}
	if strings.Join(links, "\n") != strings.Join(want, "\n") {
		t.Errorf("Link headers of OPTIONS:\n%s\nwant:\n%s", strings.Join(links, "\n"), strings.Join(want, "\n"))
	}
	rec := httptest.NewRecorder()
	New(Config{ICEServers: []webrtc.ICEServer{{URLs: []string{"turn:t"}, Username: "u", Credential: "p"}}}).linkICEServers(rec, "ada", true)
	if got := rec.Header().Get("Link"); got != `<turn:t>; rel="ice-server"; username="u"; credential="p"; credential-type="password"` {
		t.Errorf("Link of an admitted request: %s", got)
	}
}

func TestBadRoomNamesAreRefused(t *testing.T) {
	srv, rooms := serve(t, Config{})
	for _, room := range []string{"a%20b", strings.Repeat("x", 65), "caf%C3%A9"} {
		resp := request(t, "POST", srv.URL+"/whip/"+room, minimalOffer, map[string]string{"Content-Type": "application/sdp"})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("room %q: %d, want 400", room, resp.StatusCode)
		}
	}
	if rooms.joins != 0 {
		t.Errorf("%d joins for bad room names", rooms.joins)
	}
}

func TestParseFrag(t *testing.T) {
	f, err := parseFrag("a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n" +
		"a=candidate:2 1 udp 2130706431 127.0.0.1 5002 typ host\r\na=end-of-candidates\r\n")
	if err != nil || len(f.candidates) != 2 || *f.candidates[1].SDPMid != "1" || *f.candidates[1].SDPMLineIndex != 1 ||
		!strings.HasPrefix(f.candidates[0].Candidate, "candidate:1 ") {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := parseFrag(strings.Repeat("a=candidate:1 1 udp 1 127.0.0.1 1 typ host\r\n", maxFragCandidates+1)); err == nil {
		t.Error("too many candidates accepted")
	}
}
