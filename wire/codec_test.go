package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestEncodeBytes pins the bytes of every server message: the browser client and
// earlier servers speak exactly these (type first, then re, then the body's fields in
// order; HTML characters escaped as encoding/json does).
func TestEncodeBytes(t *testing.T) {
	mid, idx := "0", uint16(0)
	track := Track{Mid: "1", ID: "t_1", Participant: "p_1", Kind: "video", Source: "camera", Muted: true}
	for _, tc := range []struct {
		env  Envelope
		body any
		want string
	}{
		{Envelope{Type: TypeJoined, Re: "r1"}, Joined{Room: "r", Mode: "sfu",
			Participant:  Participant{ID: "p_1", Identity: "ada", Name: "Ada <&>", Tracks: []Track{track}, Grants: &MeshGrants{Audio: true}},
			Participants: []Participant{},
			ICEServers: []ICEServer{{CredentialType: "password", URLs: []string{"stun:x"}},
				{URLs: []string{"turn:y"}, Username: "u", Credential: "c", CredentialType: "oauth"}}},
			`{"type":"joined","re":"r1","room":"r","mode":"sfu","participant":{"id":"p_1","identity":"ada","name":"Ada \u003c\u0026\u003e","tracks":[{"mid":"1","id":"t_1","participant":"p_1","kind":"video","source":"camera","muted":true}],"grants":{"audio":true,"video":false,"subscribe":false}},"participants":[],"iceServers":[{"credentialType":"password","urls":["stun:x"]},{"credential":"c","credentialType":"oauth","urls":["turn:y"],"username":"u"}]}`},
		{Envelope{Type: TypeParticipantJoined}, ParticipantEvent{Participant{ID: "p", Name: "n", Tracks: []Track{}}},
			`{"type":"participant-joined","participant":{"id":"p","name":"n","tracks":[]}}`},
		{Envelope{Type: TypeTrackPublished}, TrackEvent{Track{ID: "t", Participant: "p", Kind: "audio", Source: "microphone"}},
			`{"type":"track-published","track":{"id":"t","participant":"p","kind":"audio","source":"microphone"}}`},
		{Envelope{Type: TypePublishAnswer, Re: "r2"}, Answer{SDP: "v=0\r\n"}, `{"type":"publish-answer","re":"r2","sdp":"v=0\r\n"}`},
		{Envelope{Type: TypeSubscribeOffer}, Offer{SDP: "v=0", Tracks: []Track{track}},
			`{"type":"subscribe-offer","sdp":"v=0","tracks":[{"mid":"1","id":"t_1","participant":"p_1","kind":"video","source":"camera","muted":true}]}`},
		{Envelope{Type: TypeCandidate}, Candidate{Target: TargetSubscriber, Candidate: &ICECandidate{Candidate: "candidate:1", SDPMid: &mid, SDPMLineIndex: &idx}},
			`{"type":"candidate","target":"subscriber","candidate":{"candidate":"candidate:1","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}`},
		{Envelope{Type: TypeChat}, Chat{From: "p", Name: "n", Text: "hi", Time: "2026-01-01T00:00:00Z"},
			`{"type":"chat","from":"p","name":"n","text":"hi","time":"2026-01-01T00:00:00Z"}`},
		{Envelope{Type: TypeRelay}, Relayed{From: "p", Data: json.RawMessage(`{"a":1}`)}, `{"type":"relay","from":"p","data":{"a":1}}`},
		{Envelope{Type: TypePong, Re: "x"}, nil, `{"type":"pong","re":"x"}`},
		{Envelope{Type: TypePong}, nil, `{"type":"pong"}`},
		{Envelope{Type: TypeError, Re: "e"}, Error{Code: CodeBadJSON, Message: "m"}, `{"type":"error","re":"e","code":"bad-json","message":"m"}`},
		{Envelope{Type: TypeError}, Error{Code: CodeBadJSON, Message: "m"}, `{"type":"error","code":"bad-json","message":"m"}`},
		{Envelope{Type: TypeJoin, ID: "r1"}, Join{Room: "r", Name: "n"}, `{"type":"join","id":"r1","room":"r","name":"n"}`},
		{Envelope{Type: TypeLeave}, struct{}{}, `{"type":"leave"}`},
	} {
		got, err := Encode(tc.env, tc.body)
		if err != nil || string(got) != tc.want {
			t.Errorf("Encode(%+v, %T):\n got %s (%v)\nwant %s", tc.env, tc.body, got, err, tc.want)
		}
	}
}

func TestEncodeRefusesNonObjects(t *testing.T) {
	for _, body := range []any{"text", 1, []int{1}} {
		if _, err := Encode(Envelope{Type: TypeChat}, body); !errors.Is(err, ErrNotObject) {
			t.Errorf("Encode with a %T body: %v, want ErrNotObject", body, err)
		}
	}
}

// TestDecodeEnvelope: each side reads the envelope field the other sends and ignores
// the one it sends itself; a frame that is not an object, or a type or id that is not
// a string, is an error.
func TestDecodeEnvelope(t *testing.T) {
	env, err := DecodeFromClient([]byte(`{"type":"ping","id":"p1","re":5}`))
	if err != nil || env != (Envelope{Type: TypePing, ID: "p1"}) {
		t.Errorf("from client: %+v, %v", env, err)
	}
	env, err = DecodeFromServer([]byte(`{"type":"pong","re":"p1","id":5}`))
	if err != nil || env != (Envelope{Type: TypePong, Re: "p1"}) {
		t.Errorf("from server: %+v, %v", env, err)
	}
	for _, frame := range []string{`nonsense`, `[1]`, `{"type":1}`, `{"type":"ping","id":2}`} {
		if _, err := DecodeFromClient([]byte(frame)); err == nil {
			t.Errorf("DecodeFromClient(%s) took it", frame)
		}
	}
}

// TestServerBodyRoundTrip: every server message decodes, through ServerBody, to the
// body it was encoded from.
func TestServerBodyRoundTrip(t *testing.T) {
	for typ, body := range map[string]any{
		TypeJoined:            &Joined{Room: "r", Mode: "mesh", Participant: Participant{ID: "p", Name: "n", Tracks: []Track{}}, Participants: []Participant{}, ICEServers: []ICEServer{}},
		TypeParticipantLeft:   &ParticipantEvent{Participant{ID: "p", Name: "n", Tracks: []Track{}}},
		TypeTrackMuted:        &TrackEvent{Track{ID: "t", Participant: "p", Kind: "video", Source: "screen", Muted: true}},
		TypePublishAnswer:     &Answer{SDP: "v=0"},
		TypeSubscribeOffer:    &Offer{SDP: "v=0", Tracks: []Track{{Mid: "0", ID: "t"}}},
		TypeCandidate:         &Candidate{Target: TargetPublisher, Candidate: &ICECandidate{Candidate: "c"}},
		TypeChat:              &Chat{From: "p", Name: "n", Text: "t", Time: "now"},
		TypeRelay:             &Relayed{From: "p", Data: json.RawMessage(`{"sdp":"x"}`)},
		TypeError:             &Error{Code: CodeFlood, Message: "m"},
		TypeParticipantJoined: &ParticipantEvent{Participant{ID: "q", Name: "m", Tracks: []Track{}, Grants: &MeshGrants{Video: true}}},
		TypeActiveSpeaker:     &ActiveSpeaker{Participants: []string{"p", "q"}},
	} {
		frame, err := Encode(Envelope{Type: typ, Re: "x"}, body)
		if err != nil {
			t.Fatal(err)
		}
		env, err := DecodeFromServer(frame)
		if err != nil || env.Type != typ || env.Re != "x" {
			t.Fatalf("%s: envelope %+v, %v", typ, env, err)
		}
		got := ServerBody(env.Type)
		if err := DecodeBody(frame, got); err != nil || !reflect.DeepEqual(got, body) {
			t.Errorf("%s: decoded %+v (%v), want %+v", typ, got, err, body)
		}
	}
	if ServerBody(TypePong) != nil || ServerBody(TypeJoin) != nil {
		t.Error("a body for a type without one")
	}
}
