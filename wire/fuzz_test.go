package wire

import (
	"bytes"
	"testing"
)

// FuzzDecode decodes arbitrary frames as the client does (envelope, then the body of
// its type) and as the server does (the envelope). Nothing panics, and a message that
// decodes encodes to a frame that decodes and encodes to the same bytes again.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"type":"joined","re":"r1","room":"r","mode":"sfu","participant":{"id":"p","name":"n","tracks":[]},"participants":[],"iceServers":[{"credentialType":"password","urls":["stun:x"]}]}`,
		`{"type":"relay","from":"p","data":{"a":[1,2,{"b":null}]}}`,
		`{"type":"candidate","target":"publisher","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}`,
		`{"type":"error","code":"bad-json","message":"\u00e9\ud800"}`,
		`{"type":"ping","id":"1"}`,
		`[1,2]`, `{"type":7}`, `nonsense`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		_, _ = DecodeFromClient(frame)
		first, ok := reencode(frame)
		if !ok {
			return
		}
		second, ok := reencode(first)
		if !ok || !bytes.Equal(first, second) {
			t.Fatalf("%s encoded to\n%s\nthen to\n%s (%v)", frame, first, second, ok)
		}
	})
}

// reencode decodes frame as a message from the server and encodes it again.
func reencode(frame []byte) ([]byte, bool) {
	env, err := DecodeFromServer(frame)
	if err != nil {
		return nil, false
	}
	body := ServerBody(env.Type)
	if body != nil && DecodeBody(frame, body) != nil {
		return nil, false
	}
	out, err := Encode(env, body)
	return out, err == nil
}
