package server_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/signal"
)

// Tests of the one way in: every entry point admitted the same way, and the input
// rules every transport shares.

// requestFor makes a request to a route's pattern ("POST /whip/{room}") with sample
// path values.
func requestFor(t *testing.T, ts *testServer, pattern string) *http.Request {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.NewReplacer("{room}", "standup", "{participant}", "p1", "{id}", "x1", "{session}", "s1",
		"{track}", "t1").Replace(path)
	var body string
	if method == http.MethodPost || method == http.MethodPatch {
		body = "v=0\r\n"
	}
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(pattern, "POST /wh") {
		req.Header.Set("Content-Type", "application/sdp")
	}
	return req
}

func send(t *testing.T, req *http.Request) httpResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return httpResult{resp.StatusCode, resp.Header, b.String()}
}

// routes are the server's routes; the test fails when there are suspiciously few
// (the list comes from the server itself).
func routes(t *testing.T, ts *testServer) []server.RouteForTest {
	t.Helper()
	rs := ts.RoutesForTest()
	if len(rs) < 20 {
		t.Fatalf("only %d routes registered", len(rs))
	}
	return rs
}

// TestEveryEntryPointIsAdmitted walks every registered route and proves that each
// refusal of admission applies to it: the Authorize hook, tokens, the Origin check
// and the per-address rate of new sessions. Only the browser client, health checks
// and CORS preflights are public.
func TestEveryEntryPointIsAdmitted(t *testing.T) {
	t.Run("Authorize hook", func(t *testing.T) {
		ts := startServerWith(t, modeWS, server.Config{Authorize: func(*http.Request) error {
			return errors.New("closed for maintenance")
		}})
		for _, rt := range routes(t, ts) {
			res := send(t, requestFor(t, ts, rt.Pattern))
			refused := res.status == http.StatusUnauthorized && strings.Contains(res.body, "closed for maintenance")
			if refused == rt.Public {
				t.Errorf("%s (public %v): %d %s", rt.Pattern, rt.Public, res.status, res.body)
			}
		}
		assertNothingCreated(t, ts)
	})
	t.Run("tokens", func(t *testing.T) {
		// With the built-in TURN server: no refused request learns its credentials.
		ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret}, TURN: &server.TURNConfig{}})
		noJoin := mintToken(t, "standup", "ada", auth.Grants{Publish: true, Subscribe: true})
		for _, rt := range routes(t, ts) {
			for _, token := range []string{"", noJoin} {
				req := requestFor(t, ts, rt.Pattern)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				res := send(t, req)
				if links := strings.Join(res.header.Values("Link"), ", "); strings.Contains(res.body+links, "turn:") {
					t.Errorf("%s with token %.10q: %d, TURN servers in %s %s", rt.Pattern, token, res.status, links, res.body)
				}
				switch {
				case rt.Token && res.status != http.StatusUnauthorized && res.status != http.StatusForbidden:
					t.Errorf("%s with token %.10q: %d %s, want 401 or 403", rt.Pattern, token, res.status, res.body)
				case !rt.Token && res.status >= 200 && res.status < 300 && !rt.Public:
					// An SSE post is bound by its session's secret: unknown here.
					t.Errorf("%s without its session's secret: %d %s", rt.Pattern, res.status, res.body)
				}
			}
		}
		assertNothingCreated(t, ts)
	})
	t.Run("Origin", func(t *testing.T) {
		ts := startServer(t)
		for _, rt := range routes(t, ts) {
			req := requestFor(t, ts, rt.Pattern)
			req.Header.Set("Origin", "https://evil.example")
			res := send(t, req)
			refused := res.status == http.StatusForbidden && strings.Contains(res.body, "forbidden-origin")
			if refused != rt.Origin {
				t.Errorf("%s (origin check %v) from a foreign page: %d %s", rt.Pattern, rt.Origin, res.status, res.body)
			}
		}
	})
	t.Run("new sessions per address", func(t *testing.T) {
		ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{NewSessionsPerSecond: 0.001, NewSessionBurst: 1}})
		send(t, requestFor(t, ts, "GET /ws")) // takes the one token (a refused upgrade)
		for _, rt := range routes(t, ts) {
			res := send(t, requestFor(t, ts, rt.Pattern))
			limited := res.status == http.StatusTooManyRequests && res.header.Get("Retry-After") != ""
			if limited != rt.Creates {
				t.Errorf("%s (opens a session %v) over the rate: %d %s", rt.Pattern, rt.Creates, res.status, res.body)
			}
		}
	})
}

// TestRoutesAreRegisteredThroughAdmission: the server's mux is only ever given
// handlers by handle, which puts admission in front of them, so the route table
// above is every route.
func TestRoutesAreRegisteredThroughAdmission(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	direct := regexp.MustCompile(`\.mux\.Handle(Func)?\(|\.Register\(s\.mux\)`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "admit.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := direct.FindIndex(b); loc != nil {
			t.Errorf("%s registers a route on the mux directly: %q", f, b[loc[0]:loc[1]])
		}
	}
}

// TestAuthorizeHookGuardsWHIPAndWHEP: with an Authorize hook that refuses, WHIP and
// WHEP refuse too (they used to answer 201).
func TestAuthorizeHookGuardsWHIPAndWHEP(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Authorize: func(r *http.Request) error {
		if r.Header.Get("X-Let-In") == "" {
			return errors.New("closed")
		}
		return nil
	}})
	offer := pionOffer(t)
	for _, path := range []string{"/whip/open", "/whep/open"} {
		res := httpDo(t, "POST", ts.URL+path, "application/sdp", offer, nil)
		if res.status != http.StatusUnauthorized {
			t.Errorf("POST %s refused by the hook: %d %s", path, res.status, res.body)
		}
	}
	assertNothingCreated(t, ts)
	w := publishWHIPWith(t, ts, "open", 300_000, false, map[string]string{"X-Let-In": "1"})
	if res := httpDo(t, "DELETE", w.location, "", "", nil); res.status != http.StatusUnauthorized {
		t.Errorf("DELETE refused by the hook: %d %s", res.status, res.body)
	}
	if res := httpDo(t, "DELETE", w.location, "", "", map[string]string{"X-Let-In": "1"}); res.status != http.StatusOK {
		t.Errorf("DELETE let in: %d %s", res.status, res.body)
	}
}

// TestWHIPResourcesBelongToTheirOwner: a WHIP or WHEP session's resource URL is
// random (not the publisher's participant id, which the whole room is told), and
// with API keys only a token of the session's identity may PATCH or DELETE it.
func TestWHIPResourcesBelongToTheirOwner(t *testing.T) {
	ts := startAuthServer(t, modeWS)
	owner := mintToken(t, "studio", "camera-1", allGrants)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	w := publishWHIPWith(t, ts, "studio", 300_000, false, bearer(owner))
	member := joinWithToken(t, ts, modeWS, "studio", "member",
		mintToken(t, "studio", "member", auth.Grants{Join: true, Subscribe: true}))
	var publisherID string
	for _, p := range member.Present {
		publisherID = p.ID
	}
	if publisherID == "" {
		t.Fatal("the member sees no WHIP publisher in the room")
	}
	if strings.Contains(w.location, publisherID) {
		t.Errorf("the resource URL %s contains the publisher's participant id %s", w.location, publisherID)
	}
	memberToken := mintToken(t, "studio", "member", auth.Grants{Join: true, Subscribe: true})
	guessed := ts.URL + "/whip/resource/w_" + publisherID
	restart := "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
	for _, c := range []struct {
		name, method, url string
		header            map[string]string
		want              int
	}{
		{"guessed from the participant id, no token", "DELETE", guessed, nil, http.StatusUnauthorized},
		{"guessed from the participant id, member's token", "DELETE", guessed, bearer(memberToken), http.StatusNotFound},
		{"no token", "DELETE", w.location, nil, http.StatusUnauthorized},
		{"member's token", "DELETE", w.location, bearer(memberToken), http.StatusForbidden},
		{"ICE restart, no token", "PATCH", w.location, map[string]string{"If-Match": "*"}, http.StatusUnauthorized},
		{"ICE restart, member's token", "PATCH", w.location,
			map[string]string{"If-Match": "*", "Authorization": "Bearer " + memberToken}, http.StatusForbidden},
		{"another room's token of the same identity", "DELETE", w.location,
			bearer(mintToken(t, "other", "camera-1", allGrants)), http.StatusForbidden},
	} {
		ct := ""
		if c.method == "PATCH" {
			ct = "application/trickle-ice-sdpfrag"
		}
		if res := httpDo(t, c.method, c.url, ct, restart, c.header); res.status != c.want {
			t.Errorf("%s: %s answered %d %s, want %d", c.name, c.method, res.status, res.body, c.want)
		}
	}
	if n := len(ts.Rooms().Room("studio").Participants()); n != 2 {
		t.Fatalf("%d participants after refused requests, want the publisher and the member", n)
	}
	if res := httpDo(t, "DELETE", w.location, "", "", bearer(owner)); res.status != http.StatusOK {
		t.Errorf("the owner's DELETE: %d %s", res.status, res.body)
	}
}

// TestWHIPResourceURLsAreRandomWithoutKeys: on an open server the resource URL is
// the only credential, so it is derived from nothing the room is told.
func TestWHIPResourceURLsAreRandomWithoutKeys(t *testing.T) {
	ts := startServer(t)
	w := publishWHIP(t, ts, "studio", 300_000, false)
	member := joinPeer(t, ts, "studio", "member")
	for _, p := range member.Present {
		if strings.Contains(w.location, p.ID) {
			t.Errorf("the resource URL %s contains the participant id %s", w.location, p.ID)
		}
	}
	if res := httpDo(t, "DELETE", ts.URL+"/whip/resource/w_"+member.Present[0].ID, "", "", nil); res.status != http.StatusNotFound {
		t.Errorf("DELETE of the id-derived URL: %d %s", res.status, res.body)
	}
}

// TestTURNCredentialsOnlyForAdmittedRequests: OPTIONS, which anyone may send (CORS
// preflights carry no credentials), names no TURN server with credentials; the 201
// of an admitted POST does.
func TestTURNCredentialsOnlyForAdmittedRequests(t *testing.T) {
	turn := webrtc.ICEServer{URLs: []string{"turn:turn.example.net:3478"}, Username: "u1", Credential: "s3cret"}
	ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret},
		ClientICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net"}}, turn}})
	for _, path := range []string{"/whip/studio", "/whep/studio", "/whep/studio/p1", "/whip/resource/x", "/whep/resource/x"} {
		res := httpDo(t, "OPTIONS", ts.URL+path, "", "", nil)
		if links := strings.Join(res.header.Values("Link"), ", "); strings.Contains(links, "s3cret") || strings.Contains(links, "turn:") {
			t.Errorf("OPTIONS %s: %d, Link: %s", path, res.status, links)
		}
	}
	refused := httpDo(t, "POST", ts.URL+"/whip/studio", "application/sdp", pionOffer(t), nil)
	if refused.status != http.StatusUnauthorized || strings.Contains(strings.Join(refused.header.Values("Link"), ""), "s3cret") {
		t.Errorf("POST without a token: %d, Link %v", refused.status, refused.header.Values("Link"))
	}
	w := newWHIPPeer(t)
	if _, err := w.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := w.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := httpDo(t, "POST", ts.URL+"/whip/studio", "application/sdp", offer.SDP,
		map[string]string{"Authorization": "Bearer " + mintToken(t, "studio", "cam", allGrants)})
	if res.status != http.StatusCreated || !strings.Contains(strings.Join(res.header.Values("Link"), ""), `credential="s3cret"`) {
		t.Errorf("admitted POST: %d, Link %v", res.status, res.header.Values("Link"))
	}
}

// TestInputRulesAreShared: a room name and a display name are judged by one rule on
// every transport: the same names refused everywhere, the same accepted.
func TestInputRulesAreShared(t *testing.T) {
	ts := startServer(t)
	offer := pionOffer(t)
	long := strings.Repeat("é", 64) // 64 characters, 128 bytes: a valid name
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, room := range []string{"a b", "bad/room", "café", strings.Repeat("r", 65), "room!"} {
		q := "?room=" + urlQuery(room)
		if res := httpDo(t, "GET", ts.URL+"/compat/sfu-ws"+q, "", "", nil); res.status != http.StatusBadRequest {
			t.Errorf("sfu-ws room %q: %d %s", room, res.status, res.body)
		}
		for _, path := range []string{"/whip/", "/whep/"} {
			if res := httpDo(t, "POST", ts.URL+path+urlPath(room), "application/sdp", offer, nil); res.status != http.StatusBadRequest &&
				res.status != http.StatusNotFound {
				t.Errorf("POST %s%q: %d %s", path, room, res.status, res.body)
			}
		}
		for _, m := range []mode{modeWS, modeSSE} {
			_, err := client.Join(ctx, ts.signalURL(m), room, "ada", client.Options{HTTPClient: ts.client})
			if err == nil || !strings.Contains(err.Error(), "room: 1 to 64") {
				t.Errorf("%s join of room %q: %v", m, room, err)
			}
		}
	}
	assertNothingCreated(t, ts)
	// One name of 64 characters in another script, accepted by every transport.
	w := newWHIPPeer(t)
	if _, err := w.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	sdp, err := w.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := httpDo(t, "POST", ts.URL+"/whip/names?name="+urlQuery(long), "application/sdp", sdp.SDP, nil); res.status != http.StatusCreated {
		t.Errorf("WHIP with a 64-character name: %d %s", res.status, res.body)
	}
	c, _, err := websocket.Dial(ctx, strings.Replace(ts.WSURL, "/ws", "/compat/sfu-ws", 1)+"?room=names&name="+urlQuery(long), nil)
	if err != nil {
		t.Errorf("sfu-ws with a 64-character name: %v", err)
	} else {
		defer c.CloseNow()
	}
	p := joinPeer(t, ts, "names", long)
	if p.Self.Name != long {
		t.Errorf("native join: name %q", p.Self.Name)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		names := map[string]bool{}
		for _, info := range ts.Rooms().Room("names").Participants() {
			names[info.Name] = true
		}
		return len(names) == 1 && names[long] && len(ts.Rooms().Room("names").Participants()) == 3,
			"the room holds the WHIP, sfu-ws and native participants, all with the long name"
	})
}

func urlQuery(s string) string { return strings.ReplaceAll(urlPath(s), "&", "%26") }

func urlPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

// TestPerAddressLimits: one client address holds at most SessionsPerAddress sessions
// at a time (503 with Retry-After beyond), and a slot is free again once a session
// ends; a WHIP session keeps its slot until it is deleted.
func TestPerAddressLimits(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Limits: server.Limits{SessionsPerAddress: 2}})
	a := joinPeer(t, ts, "standup", "a")
	w := publishWHIP(t, ts, "standup", 300_000, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Join(ctx, ts.signalURL(modeWS), "standup", "c", client.Options{HTTPClient: ts.client})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a third session from one address: %v, want 503", err)
	}
	res := httpDo(t, "POST", ts.URL+"/whep/standup", "application/sdp", pionOffer(t), nil)
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" || !strings.Contains(res.body, "too-many-sessions") {
		t.Errorf("a WHEP viewer over the cap: %d %v %s", res.status, res.header, res.body)
	}
	w.delete()
	a.close()
	waitFor(t, 10*time.Second, func() (bool, string) {
		c, err := client.Join(ctx, ts.signalURL(modeWS), "standup", "c", client.Options{HTTPClient: ts.client})
		if err != nil {
			return false, "a session after two ended: " + err.Error()
		}
		c.Close()
		return true, ""
	})
}

// chanOutbox hands the session's messages to a channel.
type chanOutbox chan []byte

func (o chanOutbox) Send(m []byte) bool {
	select {
	case o <- m:
		return true
	default:
		return false
	}
}

// TestAdmitForOwnTransports: a session run over an embedder's own transport goes
// through the same admission (Admit) and is limited to what its token allows
// (RunSessionFor); its slot of the per-address limit is freed when it ends.
func TestAdmitForOwnTransports(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret},
		Limits: server.Limits{SessionsPerAddress: 1}})
	req := func(token, origin string) *http.Request {
		r, err := http.NewRequest("GET", ts.URL+"/framework/ws?room=standup&token="+token, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.RemoteAddr = "192.0.2.7:5000"
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	token := mintToken(t, "standup", "ada", auth.Grants{Join: true, Subscribe: true})
	for _, c := range []struct {
		name, token, origin string
		status              int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"another room's token", mintToken(t, "other", "ada", allGrants), "", http.StatusUnauthorized},
		{"a foreign page", token, "https://evil.example", http.StatusForbidden},
	} {
		_, err := ts.Admit(req(c.token, c.origin))
		var rf *server.Refusal
		if !errors.As(err, &rf) || rf.Status != c.status {
			t.Errorf("%s: %v, want a refusal with %d", c.name, err, c.status)
		}
	}
	a, err := ts.Admit(req(token, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admit(req(token, "")); err == nil {
		t.Error("a second session from the address beyond SessionsPerAddress 1 was admitted")
	}
	out := make(chanOutbox, 16)
	sessions := make(chan *signal.Session, 1)
	done := make(chan error, 1)
	go func() {
		done <- ts.RunSessionFor(server.WithAdmission(context.Background(), a), out, func(s *signal.Session) { sessions <- s })
	}()
	s := <-sessions
	s.Deliver([]byte(`{"type":"join","id":"1","room":"other","name":"Ada"}`))
	if m := <-out; !strings.Contains(string(m), `"forbidden"`) {
		t.Errorf("a join of another room than the token's: %s", m)
	}
	s.Deliver([]byte(`{"type":"leave"}`))
	<-done
	b, err := ts.Admit(req(token, ""))
	if err != nil {
		t.Errorf("after the session ended, its slot is free: %v", err)
	}
	b.Release()
}
