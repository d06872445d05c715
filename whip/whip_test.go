package whip

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
)

// noRooms is a Rooms in which nothing can be joined: these tests stop before media.
type noRooms struct{ joins int }

func (r *noRooms) Join(sfu.RoomID, string, sfu.Observer) (*sfu.Participant, error) {
	r.joins++
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

func TestAuthorizerSeesTheBearerToken(t *testing.T) {
	var got []string
	srv, rooms := serve(t, Config{Authorize: func(token string, room sfu.RoomID, publish bool) error {
		got = append(got, token+"|"+string(room))
		if token != "good" {
			return errors.New("bad token")
		}
		return nil
	}})
	sdp := map[string]string{"Content-Type": "application/sdp"}
	resp := request(t, "POST", srv.URL+"/whip/r", minimalOffer, sdp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("without a token: %d %v", resp.StatusCode, resp.Header)
	}
	sdp["Authorization"] = "Bearer good"
	if resp := request(t, "POST", srv.URL+"/whip/r", minimalOffer, sdp); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("with a good token: %d, want the join's 503", resp.StatusCode)
	}
	if rooms.joins != 1 || strings.Join(got, ",") != "|r,good|r" {
		t.Errorf("joins %d, authorizer saw %q", rooms.joins, got)
	}
}

func TestLinkHeadersAnnounceICEServers(t *testing.T) {
	srv, _ := serve(t, Config{ICEServers: []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "u", Credential: "p"},
	}})
	resp := request(t, "OPTIONS", srv.URL+"/whip/r", "", nil)
	links := resp.Header.Values("Link")
	want := []string{`<stun:stun.example.net>; rel="ice-server"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`}
	if strings.Join(links, "\n") != strings.Join(want, "\n") {
		t.Errorf("Link headers:\n%s\nwant:\n%s", strings.Join(links, "\n"), strings.Join(want, "\n"))
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
