package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/client"
	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/turn"
)

const (
	turnSecret     = "built-in TURN secret, 32 bytes.."
	externalSecret = "the external TURN server's secret"
)

// TestTURNCredentialsPerClient: with the built-in TURN server and an external one
// of a shared secret, each admitted client gets credentials of its own, of its
// identity, valid for the configured time, in joined, in WHIP/WHEP Link headers and
// from /v1/connectivity; refused requests and OPTIONS get none. The built-in server
// accepts the credentials handed out, and refuses wrong and expired ones.
func TestTURNCredentialsPerClient(t *testing.T) {
	ttl := time.Hour
	ts := startServerWith(t, modeWS, server.Config{APIKeys: map[string]string{apiKey: apiSecret},
		TURN:             &server.TURNConfig{Secret: turnSecret, CredentialTTL: ttl, Host: "127.0.0.1"},
		ClientICEServers: []webrtc.ICEServer{{URLs: []string{"turn:turn.example.net:3478"}}}, ClientICESecret: externalSecret})
	port, _ := ts.TURNPortsForTest()
	builtinURL := "turn:127.0.0.1:" + strconv.Itoa(port) + "?transport=udp"
	// check asserts that servers hold both TURN servers with credentials of who.
	check := func(what string, servers []webrtc.ICEServer, who string) {
		t.Helper()
		found := map[string]bool{}
		for _, s := range servers {
			secret := map[bool]string{true: turnSecret, false: externalSecret}[strings.Contains(strings.Join(s.URLs, " "), "127.0.0.1")]
			expiry, user, _ := strings.Cut(s.Username, ":")
			exp, _ := strconv.ParseInt(expiry, 10, 64)
			wantUser, wantPass := turn.Credentials([]byte(secret), who, time.Unix(exp, 0))
			if user != who || s.Username != wantUser || s.Credential != wantPass ||
				time.Until(time.Unix(exp, 0)) < ttl-time.Minute || time.Until(time.Unix(exp, 0)) > ttl+time.Minute {
				t.Errorf("%s: %v: username %q, credential %v", what, s.URLs, s.Username, s.Credential)
			}
			found[secret] = true
		}
		if !found[turnSecret] || !found[externalSecret] {
			t.Errorf("%s: %+v lacks a TURN server", what, servers)
		}
	}

	// joined
	p := joinWithToken(t, ts, modeWS, "studio", "ada", mintToken(t, "studio", "ada", allGrants))
	check("joined", p.ICEServers(), "ada")

	// WHIP: an admitted POST, a refused one and OPTIONS
	if res := httpDo(t, "OPTIONS", ts.URL+"/whip/studio", "", "", nil); strings.Contains(strings.Join(res.header.Values("Link"), ""), "turn:") {
		t.Errorf("OPTIONS: Link %v", res.header.Values("Link"))
	}
	if res := httpDo(t, "POST", ts.URL+"/whip/studio", "application/sdp", pionOffer(t), nil); res.status != http.StatusUnauthorized ||
		strings.Contains(strings.Join(res.header.Values("Link"), ""), "turn:") {
		t.Errorf("POST without a token: %d, Link %v", res.status, res.header.Values("Link"))
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
	if res.status != http.StatusCreated {
		t.Fatalf("admitted WHIP POST: %d %s", res.status, res.body)
	}
	check("WHIP Link", linkServers(t, res.header.Values("Link")), "cam")

	// /v1/connectivity
	if res := httpDo(t, "GET", ts.URL+"/v1/connectivity", "", "", nil); res.status != http.StatusUnauthorized || strings.Contains(res.body, "turn:") {
		t.Errorf("GET /v1/connectivity without a token: %d %s", res.status, res.body)
	}
	res = httpDo(t, "GET", ts.URL+"/v1/connectivity", "", "", map[string]string{"Authorization": "Bearer " +
		mintToken(t, "studio", "bo", auth.Grants{Join: true})})
	var info struct{ ICEServers []webrtc.ICEServer }
	if err := json.Unmarshal([]byte(res.body), &info); err != nil || res.status != http.StatusOK {
		t.Fatalf("GET /v1/connectivity: %d %s", res.status, res.body)
	}
	check("/v1/connectivity", info.ICEServers, "bo")

	// The built-in server accepts what it handed out, and nothing else.
	var handed webrtc.ICEServer
	for _, s := range p.ICEServers() {
		if strings.Contains(strings.Join(s.URLs, " "), builtinURL) {
			handed = s
		}
	}
	if handed.Username == "" {
		t.Fatal("joined hands out no credentials for the built-in TURN server")
	}
	pass, _ := handed.Credential.(string)
	expiredUser, expiredPass := turn.Credentials([]byte(turnSecret), "ada", time.Now().Add(-time.Minute))
	for _, c := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"handed out", handed.Username, pass, true},
		{"wrong password", handed.Username, "x" + pass, false},
		{"expired", expiredUser, expiredPass, false},
	} {
		if err := allocateRelay(t, port, c.user, c.pass); (err == nil) != c.ok {
			t.Errorf("%s credentials: allocation %v, want success %v", c.name, err, c.ok)
		}
	}
}

// linkServers parses Link headers of ICE servers.
func linkServers(t *testing.T, links []string) []webrtc.ICEServer {
	t.Helper()
	re := regexp.MustCompile(`^<([^>]+)>; rel="ice-server"(?:; username="([^"]*)"; credential="([^"]*)")?`)
	var out []webrtc.ICEServer
	for _, l := range links {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("Link %q", l)
		}
		if m[2] != "" {
			out = append(out, webrtc.ICEServer{URLs: []string{m[1]}, Username: m[2], Credential: m[3]})
		}
	}
	return out
}

// allocateRelay asks the TURN server on port for a relay over UDP.
func allocateRelay(t *testing.T, port int, user, pass string) error {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, Realm: "switchboard", RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err == nil {
		_ = relay.Close()
	}
	return err
}

// TestConnectivityEcho: /v1/connectivity tells what the server announces, and the
// echo peer answers an offer and sends back what a data channel sends; bad offers
// are refused, and echo peers count against the sessions of their address.
func TestConnectivityEcho(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{Media: sfuTCP(), Limits: server.Limits{SessionsPerAddress: 1}})
	res := httpDo(t, "GET", ts.URL+"/v1/connectivity", "", "", nil)
	var info struct {
		Addresses  []string
		UDPPort    int
		ICETCPPort int `json:"iceTcpPort"`
		TURN       []string
		Echo       string
	}
	if err := json.Unmarshal([]byte(res.body), &info); err != nil || res.status != http.StatusOK {
		t.Fatalf("GET /v1/connectivity: %d %s", res.status, res.body)
	}
	if info.UDPPort != ts.UDPPort() || info.ICETCPPort != ts.ICETCPPort() || len(info.TURN) != 0 || info.Echo == "" ||
		!strings.Contains(strings.Join(info.Addresses, " "), "127.0.0.1") {
		t.Errorf("GET /v1/connectivity: %s", res.body)
	}
	echoURL := ts.URL + "/" + info.Echo
	for _, c := range []struct {
		name, ct, body string
		want           int
	}{
		{"not SDP", "text/plain", "v=0\r\n", http.StatusUnsupportedMediaType},
		{"too large", "application/sdp", strings.Repeat("a", 65<<10), http.StatusRequestEntityTooLarge},
		{"not an offer", "application/sdp", "v=0\r\n", http.StatusBadRequest},
	} {
		if res := httpDo(t, "POST", echoURL, c.ct, c.body, nil); res.status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.status, res.body, c.want)
		}
	}
	api, err := client.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dc, err := pc.CreateDataChannel("echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	echoed := make(chan string, 1)
	dc.OnOpen(func() { _ = dc.SendText("ping") })
	dc.OnMessage(func(m webrtc.DataChannelMessage) { echoed <- string(m.Data) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	res = httpDo(t, "POST", echoURL, "application/sdp", offer.SDP, nil)
	if res.status != http.StatusCreated {
		t.Fatalf("echo: %d %s", res.status, res.body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res.body}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case m := <-echoed:
		if m != "ping" {
			t.Errorf("echoed %q", m)
		}
	case <-ctx.Done():
		t.Fatalf("no echo: the connection is %s", pc.ConnectionState())
	}
	if res := httpDo(t, "POST", echoURL, "application/sdp", offer.SDP, nil); res.status != http.StatusServiceUnavailable {
		t.Errorf("a second echo peer beyond SessionsPerAddress 1: %d %s", res.status, res.body)
	}
}

// TestTURNCredentialsOfAnonymousClients: without join tokens a client's TURN
// credentials are of its participant id, a WHIP session's of its resource id.
func TestTURNCredentialsOfAnonymousClients(t *testing.T) {
	ts := startServerWith(t, modeWS, server.Config{TURN: &server.TURNConfig{}})
	p := joinPeer(t, ts, "open", "ada")
	servers := p.ICEServers()
	if len(servers) != 1 || !strings.HasSuffix(servers[0].Username, ":"+p.Self.ID) {
		t.Errorf("joined: %+v, want credentials of %s", servers, p.Self.ID)
	}
	w := newWHIPPeer(t)
	if _, err := w.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := w.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := httpDo(t, "POST", ts.URL+"/whip/open", "application/sdp", offer.SDP, nil)
	id := res.header.Get("Location")[strings.LastIndex(res.header.Get("Location"), "/")+1:]
	links := linkServers(t, res.header.Values("Link"))
	if res.status != http.StatusCreated || len(links) == 0 || id == "" || !strings.HasSuffix(links[0].Username, ":"+id) {
		t.Errorf("WHIP: %d, Location %s, Link %+v", res.status, res.header.Get("Location"), links)
	}
}
