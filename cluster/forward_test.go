package cluster_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auth"
	"github.com/switchboard-rtc/switchboard/cluster"
	"github.com/switchboard-rtc/switchboard/server"
)

const (
	testKey       = "cluster-key"
	testKeySecret = "cluster-key-secret-0123456789abcdef"
)

func mint(t *testing.T, room, identity string, g auth.Grants) string {
	t.Helper()
	tok, err := auth.Mint(testKey, testKeySecret, auth.NewClaims(room, identity, "", g, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestForwardedRequests: with join tokens, a room's requests reach its owner
// through the other node: an SSE session (its stream and its posts), a WHIP
// publisher and the DELETE of its resource (the Location names the room). The
// owner refuses a forwarded request whose signature is forged or made with another
// secret. The admin API and the metrics show the nodes and who holds the room.
func TestForwardedRequests(t *testing.T) {
	checkGoroutines(t)
	rd := startRedis(t)
	keys := func(c *server.Config) { c.APIKeys = map[string]string{testKey: testKeySecret} }
	nodes := []*inNode{startNode(t, rd.URL, "a1", keys), startNode(t, rd.URL, "a2", keys)}
	waitMembers(t, rd, 2)
	join := auth.Grants{Join: true, Publish: true, Subscribe: true}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := joinAt(ctx, nodes[0], nodes[0].wsURL(), "r", "first", mint(t, "r", "first", join))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.leave)
	owner, other := nodes[0], nodes[1]
	if owner.hosts()["r"] == 0 {
		owner, other = other, owner
	}
	sse, err := joinAt(ctx, other, other.url+"/sse", "r", "sse", mint(t, "r", "sse", join))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sse.leave)
	waitMedia(t, map[string][]*participant{"r": {first, sse}}, 10, nil, 20*time.Second)
	if other.hosts()["r"] != 0 || owner.hosts()["r"] != 2 {
		t.Fatalf("room r: %d participants on its owner %s, %d on %s; want 2 and 0", owner.hosts()["r"], owner.name,
			other.hosts()["r"], other.name)
	}

	t.Run("whip through the other node", func(t *testing.T) {
		loc := whipPublish(t, other.url+"/whip/r", mint(t, "r", "whip", join))
		if !strings.Contains(loc, "room=r") {
			t.Fatalf("Location %q does not name the room", loc)
		}
		waitFor(t, 10*time.Second, func() (bool, string) {
			return owner.hosts()["r"] == 3, "the WHIP publisher is not in the owner's room"
		})
		req, _ := http.NewRequest(http.MethodDelete, other.url+loc, nil)
		req.Header.Set("Authorization", "Bearer "+mint(t, "r", "whip", join))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s through %s: %s", loc, other.name, resp.Status)
		}
		waitFor(t, 10*time.Second, func() (bool, string) {
			return owner.hosts()["r"] == 2, "the WHIP publisher is still in the room"
		})
	})

	t.Run("forged signature", func(t *testing.T) {
		forger, err := cluster.New(cluster.Config{Redis: rd.URL, Secret: strings.Repeat("x", 40), ID: "forger"})
		if err != nil {
			t.Fatal(err)
		}
		defer forger.Close()
		for _, header := range []string{"v1.e30.AAAA", "nonsense"} {
			req, _ := http.NewRequest(http.MethodGet, owner.url+"/ws?room=r", nil)
			req.Header.Set(cluster.ForwardHeader, header)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("header %q: %s %s, want 401", header, resp.Status, body)
			}
		}
		// Signed with another secret: the owner refuses it the same way.
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/ws?room=r", nil)
		forger.Forward(rec, req, cluster.Member{ID: owner.srv.Cluster().ID(), URL: owner.url}, "r", nil,
			func(w http.ResponseWriter, _ *http.Request, err error) { t.Errorf("forward: %v", err) })
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("a request signed with another secret: %d %s, want 401", rec.Code, rec.Body)
		}
	})

	t.Run("admin view and metrics", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, other.url+"/v1/admin/cluster", nil)
		req.Header.Set("Authorization", "Bearer "+mint(t, "", "ops", auth.Grants{Admin: true}))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var view struct {
			Node    string `json:"node"`
			RedisUp bool   `json:"redis_up"`
			Nodes   []struct {
				ID   string `json:"id"`
				Load struct {
					Participants int `json:"participants"`
				} `json:"load"`
			} `json:"nodes"`
			Rooms map[string]string `json:"rooms"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&view); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/admin/cluster: %s, %v", resp.Status, err)
		}
		if view.Node != other.name || !view.RedisUp || len(view.Nodes) != 2 || view.Rooms["r"] != owner.name {
			t.Fatalf("cluster view %+v: want node %s, Redis up, 2 nodes, room r on %s", view, other.name, owner.name)
		}
		waitFor(t, 5*time.Second, func() (bool, string) {
			body := scrape(t, other.srv)
			want := `switchboard_cluster_node_participants{node="` + owner.name + `"} 2`
			return strings.Contains(body, want) && strings.Contains(body, "switchboard_cluster_redis_up 1"),
				"metrics lack " + want
		})
	})
}

// scrape reads the server's metrics.
func scrape(t *testing.T, srv *server.Server) string {
	rec := httptest.NewRecorder()
	srv.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// whipPublish publishes an audio track to url with WHIP and returns the session's
// Location; the publisher closes when the test ends.
func whipPublish(t *testing.T, url, token string) string {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	track, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "whip")
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s %s", url, resp.Status, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("Location")
}
