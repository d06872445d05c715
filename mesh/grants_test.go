package mesh

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestSDPSending: a section sends unless it says exactly that it only receives or is
// inactive; anything a lenient parser could read otherwise counts as sending.
func TestSDPSending(t *testing.T) {
	const head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=sendrecv\r\n"
	for _, c := range []struct {
		name, sdp    string
		audio, video bool
	}{
		{"receive only", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=inactive\r\n", false, false},
		{"no direction is sendrecv", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n", true, false},
		{"sendonly video", head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\n", false, true},
		{"two directions", head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=sendrecv\r\n", false, true},
		{"padded direction", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly \r\n", true, false},
		{"upper case send", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\na=SENDRECV\r\n", true, false},
		{"indented section", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\n m=video 9 UDP/TLS/RTP/SAVPF 96\r\n", false, true},
		{"lone carriage return", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\rm=video 9 x 96\r\n", true, true},
		{"unknown kind", head + "m=text 9 RTP/AVP 98\r\n", true, true},
		{"data channel", head + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", false, false},
		{"newlines only", strings.ReplaceAll(head+"m=audio 9 x 111\r\na=recvonly\r\n", "\r\n", "\n"), false, false},
	} {
		audio, video := sdpSending(c.sdp)
		if audio != c.audio || video != c.video {
			t.Errorf("%s: audio %v video %v, want %v %v", c.name, audio, video, c.audio, c.video)
		}
	}
}

// TestMayRelay: descriptions are checked where the browser client reads them, keys
// exactly and the last of repeated keys.
func TestMayRelay(t *testing.T) {
	send := "m=video 9 x 96\r\na=sendrecv\r\n"
	recv := "m=video 9 x 96\r\na=recvonly\r\n"
	desc := func(sdp string) string {
		b, _ := json.Marshal(map[string]any{"type": "offer", "sdp": sdp})
		return string(b)
	}
	viewer := &Grants{Subscribe: true}
	for _, c := range []struct {
		name     string
		from, to *Grants
		data     string
		ok       bool
	}{
		{"no grants", nil, nil, `{"description":` + desc(send) + `}`, true},
		{"viewer offers to send", viewer, nil, `{"description":` + desc(send) + `}`, false},
		{"viewer answers to receive", viewer, nil, `{"description":` + desc(recv) + `}`, true},
		{"decoy in another case", viewer, nil, `{"description":` + desc(send) + `,"Description":` + desc(recv) + `}`, false},
		{"repeated key, last sends", viewer, nil, `{"description":` + desc(recv) + `,"description":` + desc(send) + `}`, false},
		{"candidate", viewer, nil, `{"candidate":{"candidate":"x"}}`, true},
		{"to a peer that may not receive", nil, &Grants{Audio: true, Video: true}, `{"description":` + desc(send) + `}`, false},
	} {
		err := mayRelay(c.from, c.to, []byte(c.data))
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("%s: %v, want allowed %v", c.name, err, c.ok)
		}
	}
}
