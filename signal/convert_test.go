package signal

import (
	"encoding/json"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/wire"
)

// TestICEToWireKeepsBytes: ICE servers and candidates encode, through wire's types,
// to the bytes Pion's types encode to, which clients have always been sent.
func TestICEToWireKeepsBytes(t *testing.T) {
	servers := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.org:3478"}},
		{URLs: []string{"turn:turn.example.org"}, Username: "u", Credential: "p"},
		{URLs: []string{"turns:turn.example.org"}, Username: "u", CredentialType: webrtc.ICECredentialTypeOauth,
			Credential: webrtc.OAuthCredential{MACKey: "k", AccessToken: "t"}},
	}
	same(t, servers, iceServersToWire(servers))
	same(t, []webrtc.ICEServer{}, iceServersToWire(nil))
	mid, idx, ufrag := "0", uint16(1), "abc"
	c := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid, SDPMLineIndex: &idx, UsernameFragment: &ufrag}
	same(t, c, wire.ICECandidate(c))
	same(t, webrtc.ICECandidateInit{}, wire.ICECandidate{})
}

func same(t *testing.T, pion, ours any) {
	t.Helper()
	want, err1 := json.Marshal(pion)
	got, err2 := json.Marshal(ours)
	if err1 != nil || err2 != nil || string(got) != string(want) {
		t.Errorf("wire encodes %s (%v), Pion %s (%v)", got, err2, want, err1)
	}
}
