package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/client"
)

// whipPeer is a Pion WHIP publisher or WHEP viewer: one peer connection negotiated
// with one POST.
type whipPeer struct {
	t        *testing.T
	pc       *webrtc.PeerConnection
	location string // absolute URL of the session
	etag     string
	header   map[string]string // sent with the POST (Authorization)

	stopMedia context.CancelFunc
	media     sync.WaitGroup

	// Received media, for a viewer.
	mu         sync.Mutex
	sizes      map[int]uint64 // video packets by payload size
	lastSeq    uint16
	maxSeqGap  uint16 // largest number of sequence numbers skipped between two video packets
	videoCount atomic.Uint64
	audioCount atomic.Uint64
}

func newWHIPPeer(t *testing.T) *whipPeer {
	t.Helper()
	api, err := client.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	w := &whipPeer{t: t, pc: pc, sizes: map[int]uint64{}}
	t.Cleanup(w.close)
	return w
}

// publishWHIP posts a VP8+Opus offer to /whip/room and sends synthetic media at
// bitrate. trickle leaves the candidates out of the offer and PATCHes them.
func publishWHIP(t *testing.T, ts *testServer, room string, bitrate int, trickle bool) *whipPeer {
	t.Helper()
	return publishWHIPWith(t, ts, room, bitrate, trickle, nil)
}

// publishWHIPWith is publishWHIP with headers on the POST.
func publishWHIPWith(t *testing.T, ts *testServer, room string, bitrate int, trickle bool, header map[string]string) *whipPeer {
	t.Helper()
	w := newWHIPPeer(t)
	w.header = header
	video, err := client.NewVideoTrack("video", "whip")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := client.NewAudioTrack("audio", "whip")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{video, audio} {
		if _, err := w.pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	w.negotiate(ts.URL+"/whip/"+room, trickle)
	ctx, cancel := context.WithCancel(context.Background())
	w.stopMedia = cancel
	for _, tr := range []*webrtc.TrackLocalStaticRTP{video, audio} {
		w.media.Add(1)
		go func() { defer w.media.Done(); client.SendSynthetic(ctx, tr, bitrate) }()
	}
	return w
}

// watchWHEP posts a receive-only offer to path (/whep/room[/participant]).
func watchWHEP(t *testing.T, ts *testServer, path string) *whipPeer {
	t.Helper()
	w := newWHIPPeer(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := w.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	w.pc.OnTrack(w.onTrack)
	w.negotiate(ts.URL+path, false)
	return w
}

// negotiate posts the offer, applies the answer and, when trickling, PATCHes each
// local candidate.
func (w *whipPeer) negotiate(url string, trickle bool) {
	t := w.t
	t.Helper()
	offer, err := w.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	var patches sync.WaitGroup
	cands := make(chan *webrtc.ICECandidate, 64)
	if trickle {
		w.pc.OnICECandidate(func(c *webrtc.ICECandidate) { cands <- c })
	}
	gathered := webrtc.GatheringCompletePromise(w.pc)
	if err := w.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if !trickle {
		<-gathered
	}
	resp := httpDo(t, "POST", url, "application/sdp", w.pc.LocalDescription().SDP, w.header)
	if resp.status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", url, resp.status, resp.body)
	}
	w.location = strings.TrimSuffix(url[:strings.Index(url[len("http://"):], "/")+len("http://")], "/") + resp.header.Get("Location")
	w.etag = resp.header.Get("ETag")
	if err := w.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.body}); err != nil {
		t.Fatal(err)
	}
	if trickle {
		patches.Add(1)
		go func() {
			defer patches.Done()
			for c := range cands {
				if c == nil {
					return
				}
				frag := "a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=" + c.ToJSON().Candidate + "\r\n"
				if r := httpDo(t, "PATCH", w.location, "application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": w.etag}); r.status != http.StatusNoContent {
					t.Errorf("PATCH candidate: %d %s", r.status, r.body)
				}
			}
		}()
		<-gathered
		patches.Wait()
	}
}

func (w *whipPeer) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	var pkt rtp.Packet
	buf := make([]byte, 1500)
	first := true
	for {
		n, _, err := track.Read(buf)
		if err != nil || pkt.Unmarshal(buf[:n]) != nil {
			return
		}
		if track.Kind() == webrtc.RTPCodecTypeAudio {
			w.audioCount.Add(1)
			continue
		}
		w.mu.Lock()
		w.sizes[len(pkt.Payload)]++
		if gap := pkt.SequenceNumber - w.lastSeq - 1; !first && gap > w.maxSeqGap {
			w.maxSeqGap = gap
		}
		first, w.lastSeq = false, pkt.SequenceNumber
		w.mu.Unlock()
		w.videoCount.Add(1)
	}
}

// videoOfSize is how many video packets of payload size the viewer received.
func (w *whipPeer) videoOfSize(size int) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sizes[size]
}

func (w *whipPeer) close() {
	if w.stopMedia != nil {
		w.stopMedia()
	}
	_ = w.pc.Close()
	w.media.Wait()
}

// delete ends the session with DELETE and stops the peer.
func (w *whipPeer) delete() {
	w.t.Helper()
	if r := httpDo(w.t, "DELETE", w.location, "", "", nil); r.status != http.StatusOK {
		w.t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	w.close()
}

type httpResult struct {
	status int
	header http.Header
	body   string
}

func httpDo(t *testing.T, method, url, contentType, body string, headers map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header, string(b)}
}

// videoPayloadSize is the payload size of SendSynthetic's video at bitrate (up to
// 1200 bytes).
func videoPayloadSize(bitrate int) int {
	return min(bitrate/8*int(time.Second/30)/int(time.Second), 1200)
}

func TestWHIPPublisherToWHEPViewersAndNativeParticipant(t *testing.T) {
	ts := startServer(t)
	native := joinPeer(t, ts, "r", "native")
	pub := publishWHIP(t, ts, "r", 300_000, true)
	viewers := []*whipPeer{watchWHEP(t, ts, "/whep/r"), watchWHEP(t, ts, "/whep/r")}
	for i, v := range viewers {
		waitFor(t, 15*time.Second, func() (bool, string) {
			vid, aud := v.videoCount.Load(), v.audioCount.Load()
			return vid >= 30 && aud >= 30, fmt.Sprintf("viewer %d has %d video and %d audio packets", i, vid, aud)
		})
	}
	var publisher string
	waitFor(t, 15*time.Second, func() (bool, string) {
		for _, tr := range native.ReceivingTracks() {
			publisher = tr.Participant
		}
		return publisher != "", "the native participant receives no track"
	})
	waitFor(t, 15*time.Second, func() (bool, string) {
		a, v := native.packetsFrom(publisher, "audio"), native.packetsFrom(publisher, "video")
		return a >= 30 && v >= 30, fmt.Sprintf("native participant has %d audio and %d video packets from the WHIP publisher", a, v)
	})
	pub.delete()
	waitFor(t, 15*time.Second, func() (bool, string) {
		n := len(native.ReceivingTracks())
		return n == 0, fmt.Sprintf("after DELETE the native participant still receives %d tracks", n)
	})
}

func TestWHEPViewerFollowsTheNextPublisher(t *testing.T) {
	ts := startServer(t)
	first := publishWHIP(t, ts, "r", 150_000, false)
	viewer := watchWHEP(t, ts, "/whep/r")
	waitFor(t, 15*time.Second, func() (bool, string) {
		n := viewer.videoOfSize(videoPayloadSize(150_000))
		return n >= 30, fmt.Sprintf("viewer has %d video packets of the first publisher", n)
	})
	// A participant stays in the room so that it lives on between publishers.
	joinPeer(t, ts, "r", "stays")
	first.delete()
	publishWHIP(t, ts, "r", 240_000, false)
	waitFor(t, 15*time.Second, func() (bool, string) {
		n := viewer.videoOfSize(videoPayloadSize(240_000))
		return n >= 30, fmt.Sprintf("viewer has %d video packets of the second publisher", n)
	})
	viewer.mu.Lock()
	defer viewer.mu.Unlock()
	// The publishers number their packets independently; the viewer must see one
	// sequence, with at most a few numbers lost in transit.
	if viewer.maxSeqGap > 10 {
		t.Errorf("video sequence numbers skipped %d at once: the switch did not continue the sequence", viewer.maxSeqGap)
	}
}

func TestWHIPBadRequests(t *testing.T) {
	ts := startServer(t)
	offer := pionOffer(t)
	cases := []struct {
		name, method, path, contentType, body string
		want                                  int
	}{
		{"offer not SDP", "POST", "/whip/r", "application/json", offer, http.StatusUnsupportedMediaType},
		{"malformed offer", "POST", "/whip/r", "application/sdp", "v=0\r\nnonsense", http.StatusBadRequest},
		{"offer too large", "POST", "/whip/r", "application/sdp", strings.Repeat("a", 65<<10), http.StatusRequestEntityTooLarge},
		{"watch unknown room", "POST", "/whep/nobody-here", "application/sdp", offer, http.StatusNotFound},
		{"PATCH unknown session", "PATCH", "/whip/resource/nope", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", http.StatusNotFound},
		{"DELETE unknown session", "DELETE", "/whep/resource/nope", "", "", http.StatusNotFound},
	}
	for _, c := range cases {
		if r := httpDo(t, c.method, ts.URL+c.path, c.contentType, c.body, nil); r.status != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, r.status, r.body, c.want)
		}
	}
	// In a room with a publisher: an unknown participant, and PATCHes that are wrong.
	pub := publishWHIP(t, ts, "r", 150_000, false)
	if r := httpDo(t, "POST", ts.URL+"/whep/r/p_nobody", "application/sdp", offer, nil); r.status != http.StatusNotFound {
		t.Errorf("watch unknown participant: %d %q, want 404", r.status, r.body)
	}
	patches := []struct {
		name, contentType, body, ifMatch string
		want                             int
	}{
		{"wrong content type", "application/sdp", "a=end-of-candidates\r\n", "", http.StatusUnsupportedMediaType},
		{"bad candidate", "application/trickle-ice-sdpfrag", "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:garbage\r\n", "", http.StatusBadRequest},
		{"not a fragment", "application/trickle-ice-sdpfrag", "hello", "", http.StatusBadRequest},
		{"ICE restart without credentials", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", "*", http.StatusBadRequest},
		{"another session's tag", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", `"other"`, http.StatusPreconditionFailed},
		{"end of candidates", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", pub.etag, http.StatusNoContent},
	}
	for _, c := range patches {
		r := httpDo(t, "PATCH", pub.location, c.contentType, c.body, map[string]string{"If-Match": c.ifMatch})
		if r.status != c.want {
			t.Errorf("PATCH %s: %d %q, want %d", c.name, r.status, r.body, c.want)
		}
	}
	pub.delete()
	if r := httpDo(t, "DELETE", pub.location, "", "", nil); r.status != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", r.status)
	}
}

func TestWHIPOptionsAndCORS(t *testing.T) {
	ts := startServer(t)
	r := httpDo(t, "OPTIONS", ts.URL+"/whip/r", "", "", map[string]string{
		"Origin": "https://obs.example", "Access-Control-Request-Method": "POST",
	})
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") || r.header.Get("Accept-Post") != "application/sdp" {
		t.Errorf("OPTIONS /whip/r: %d %v", r.status, r.header)
	}
	r = httpDo(t, "OPTIONS", ts.URL+"/whep/resource/x", "", "", nil)
	if r.status != http.StatusNoContent || !strings.Contains(r.header.Get("Allow"), "PATCH") {
		t.Errorf("OPTIONS on a resource: %d %v", r.status, r.header)
	}
}

// iceLines returns the ICE credentials and candidate lines of sdp.
func iceLines(sdp string) (ufrag, pwd string, candidates []string) {
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:") && ufrag == "":
			ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:") && pwd == "":
			pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			candidates = append(candidates, strings.TrimPrefix(line, "a="))
		}
	}
	return ufrag, pwd, candidates
}

// restartICE does a WHIP ICE restart from the client's side: a new offer with new
// credentials, PATCHed as a fragment; the server's fragment answers it.
func (w *whipPeer) restartICE() (newETag string, serverUfrag string) {
	t := w.t
	t.Helper()
	offer, err := w.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(w.pc)
	if err := w.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	ufrag, pwd, cands := iceLines(w.pc.LocalDescription().SDP)
	frag := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
	for _, c := range cands {
		frag += "a=" + c + "\r\n"
	}
	r := httpDo(t, "PATCH", w.location, "application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": "*"})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/trickle-ice-sdpfrag" {
		t.Fatalf("ICE restart: %d %q", r.status, r.body)
	}
	sUfrag, sPwd, sCands := iceLines(r.body)
	if sUfrag == "" || sPwd == "" || len(sCands) == 0 {
		t.Fatalf("ICE restart answer without credentials or candidates: %q", r.body)
	}
	// The answer is the previous one with the server's new credentials; candidates
	// come from the fragment.
	prev := w.pc.RemoteDescription().SDP
	oldUfrag, oldPwd, _ := iceLines(prev)
	answer := strings.ReplaceAll(strings.ReplaceAll(prev, "a=ice-ufrag:"+oldUfrag, "a=ice-ufrag:"+sUfrag), "a=ice-pwd:"+oldPwd, "a=ice-pwd:"+sPwd)
	var kept []string
	for _, line := range strings.SplitAfter(answer, "\n") {
		if !strings.HasPrefix(line, "a=candidate:") && !strings.HasPrefix(line, "a=end-of-candidates") {
			kept = append(kept, line)
		}
	}
	if err := w.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: strings.Join(kept, "")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range sCands {
		if err := w.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
			t.Fatal(err)
		}
	}
	return r.header.Get("ETag"), sUfrag
}

func TestWHIPICERestart(t *testing.T) {
	ts := startServer(t)
	native := joinPeer(t, ts, "r", "native")
	pub := publishWHIP(t, ts, "r", 150_000, false)
	var publisher string
	waitFor(t, 15*time.Second, func() (bool, string) {
		for _, tr := range native.ReceivingTracks() {
			publisher = tr.Participant
		}
		return publisher != "" && native.packetsFrom(publisher, "video") >= 30, "the native participant receives no video from the WHIP publisher"
	})
	oldUfrag, _, _ := iceLines(pub.pc.RemoteDescription().SDP)
	etag, newUfrag := pub.restartICE()
	if etag == pub.etag || newUfrag == oldUfrag {
		t.Errorf("after the restart: ETag %s (was %s), server ufrag %s (was %s)", etag, pub.etag, newUfrag, oldUfrag)
	}
	waitFor(t, 15*time.Second, func() (bool, string) {
		s := pub.pc.ICEConnectionState()
		return s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted, "ICE state after the restart: " + s.String()
	})
	before := native.packetsFrom(publisher, "video")
	waitFor(t, 15*time.Second, func() (bool, string) {
		n := native.packetsFrom(publisher, "video") - before
		return n >= 60, fmt.Sprintf("%d video packets since the restart", n)
	})
	// The old entity tag no longer matches.
	if r := httpDo(t, "PATCH", pub.location, "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", map[string]string{"If-Match": pub.etag}); r.status != http.StatusPreconditionFailed {
		t.Errorf("trickle with the old ETag: %d, want 412", r.status)
	}
}
