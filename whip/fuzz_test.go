package whip

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
)

// pionOffer is an offer as a Pion client makes it: sending audio and video (WHIP) or
// receiving them (WHEP).
func pionOffer(f *testing.F, send bool) string {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	defer pc.Close()
	for _, c := range []webrtc.RTPCodecCapability{{MimeType: webrtc.MimeTypeOpus}, {MimeType: webrtc.MimeTypeVP8}} {
		if send {
			track, err := webrtc.NewTrackLocalStaticRTP(c, c.MimeType, "seed")
			if err == nil {
				_, err = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			}
			if err != nil {
				f.Fatal(err)
			}
			continue
		}
		kind := webrtc.RTPCodecTypeAudio
		if c.MimeType == webrtc.MimeTypeVP8 {
			kind = webrtc.RTPCodecTypeVideo
		}
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			f.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		f.Fatal(err)
	}
	return o.SDP
}

// FuzzOffer posts arbitrary offers to WHIP (whep false) and WHEP (whep true), in real
// rooms. Each is answered 201 with an SDP answer or 400; nothing panics; and once
// the sessions made are deleted, nobody is left but the participant the WHEP offers
// watch.
func FuzzOffer(f *testing.F) {
	f.Add(false, pionOffer(f, true))
	f.Add(true, pionOffer(f, false))
	f.Add(false, minimalOffer)
	f.Add(true, minimalOffer+"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=recvonly\r\n")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := sfu.NewEngine(sfu.Config{ICELoopback: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	rooms := sfu.NewRooms(engine)
	// Someone to watch, in room "w".
	host, err := rooms.Join("w", "host", (&publisherEvents{}).observers())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(host.Leave)
	h := New(Config{Rooms: rooms, Logger: log})
	f.Cleanup(h.Close)
	mux := http.NewServeMux()
	h.Register(mux)
	f.Fuzz(func(t *testing.T, whep bool, offer string) {
		path := "/whip/p"
		if whep {
			path = "/whep/w"
		}
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(offer))
		r.Header.Set("Content-Type", "application/sdp")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusCreated:
			answer := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: w.Body.String()}
			if _, err := answer.Unmarshal(); err != nil {
				t.Fatalf("201 with an answer that does not parse: %v", err)
			}
			d := httptest.NewRecorder()
			mux.ServeHTTP(d, httptest.NewRequest(http.MethodDelete, w.Header().Get("Location"), nil))
			if d.Code != http.StatusOK {
				t.Fatalf("DELETE %s: %d %s", w.Header().Get("Location"), d.Code, d.Body)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("POST %s answered %d %s", path, w.Code, w.Body)
		}
		if n := h.Sessions(); n != 0 {
			t.Fatalf("%d sessions left", n)
		}
		if rooms.Room("p") != nil {
			t.Fatal("room p still exists after its publisher was deleted")
		}
	})
}

// fakeResource is a session that records what a PATCH applies to it.
type fakeResource struct {
	candidates []webrtc.ICECandidateInit
}

func (s *fakeResource) AddCandidate(c webrtc.ICECandidateInit) error {
	s.candidates = append(s.candidates, c)
	return nil
}
func (s *fakeResource) RestartICE(context.Context, string, string) (string, error) {
	return "v=0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n", nil
}
func (s *fakeResource) Close() {}

// FuzzTrickle sends arbitrary SDP fragments in PATCH requests (trickled candidates,
// ICE restarts, entity tags) to a session. Each is answered 204, 200 (a restart, with
// a fragment), 400, 412 or 413 (too large, nothing applied); at most 64 candidates
// reach the session, each with its "candidate:" line; nothing panics.
func FuzzTrickle(f *testing.F) {
	f.Add(uint8(0), "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"+
		"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\n"+
		"a=end-of-candidates\r\n")
	f.Add(uint8(1), "a=ice-ufrag:x\na=ice-pwd:y\n")
	f.Add(uint8(2), "m=video 9 RTP/AVP 0\na=candidate:1 1 udp 1 ::1 9 typ host\n")
	f.Add(uint8(3), "bogus")
	h := New(Config{Rooms: &noRooms{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	h.Register(mux)
	f.Fuzz(func(t *testing.T, match uint8, frag string) {
		s := &fakeResource{}
		id, _ := h.add(&session{resource: s, kind: "whip", release: func() {}})
		defer h.take(id)
		r := httptest.NewRequest(http.MethodPatch, "/whip/resource/"+id, strings.NewReader(frag))
		r.Header.Set("Content-Type", sdpFragType)
		switch match % 4 {
		case 1:
			r.Header.Set("If-Match", "*")
		case 2:
			r.Header.Set("If-Match", h.etag(id))
		case 3:
			r.Header.Set("If-Match", `"other"`)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			if match%4 != 1 || w.Header().Get("Content-Type") != sdpFragType {
				t.Fatalf("200 to a PATCH that is no restart, or without a fragment: %v", w.Header())
			}
		case http.StatusNoContent, http.StatusBadRequest, http.StatusPreconditionFailed:
		case http.StatusRequestEntityTooLarge:
			// A fragment over maxFragSize, or with more than maxFragCandidates
			// candidates: refused whole.
			if len(frag) <= maxFragSize && strings.Count(frag, "a=candidate") <= maxFragCandidates {
				t.Fatalf("413 to a fragment of %d bytes: %s", len(frag), w.Body)
			}
			if len(s.candidates) != 0 {
				t.Fatalf("413, yet %d candidates applied", len(s.candidates))
			}
		default:
			t.Fatalf("PATCH answered %d %s", w.Code, w.Body)
		}
		if len(s.candidates) > maxFragCandidates {
			t.Fatalf("%d candidates applied from one PATCH", len(s.candidates))
		}
		for _, c := range s.candidates {
			if !strings.HasPrefix(c.Candidate, "candidate:") {
				t.Fatalf("applied %q, not a candidate line", c.Candidate)
			}
		}
	})
}
