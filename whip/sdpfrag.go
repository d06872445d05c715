package whip

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// maxFragCandidates bounds the candidates of one PATCH: a client gathers a handful
// per interface.
const maxFragCandidates = 64

var errFragCandidates = fmt.Errorf("too many candidates in one fragment: at most %d", maxFragCandidates)

// fragment is what a trickle PATCH carries.
type fragment struct {
	ufrag, pwd string // ICE credentials, when given
	candidates []webrtc.ICECandidateInit
}

// parseFrag reads an SDP fragment (RFC 8840): ICE credentials, then per m-line its
// mid and candidates. Lines it does not need are skipped.
func parseFrag(s string) (fragment, error) {
	var f fragment
	var mid *string
	index := -1
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "m="):
			index++
			mid = nil
		case strings.HasPrefix(line, "a=mid:"):
			m := strings.TrimPrefix(line, "a=mid:")
			mid = &m
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			if len(f.candidates) == maxFragCandidates {
				return f, errFragCandidates
			}
			c := webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a="), SDPMid: mid}
			if index >= 0 {
				i := uint16(index)
				c.SDPMLineIndex = &i
			}
			f.candidates = append(f.candidates, c)
		case len(line) < 2 || line[1] != '=':
			return f, errors.New("not an SDP fragment: " + truncate(line))
		}
	}
	return f, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// answerFrag is the fragment that answers an ICE restart: the server's new
// credentials and, per m-line, its candidates, taken from the new answer.
func answerFrag(answer string) string {
	var b strings.Builder
	var creds, media []string
	for _, line := range strings.Split(answer, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"), strings.HasPrefix(line, "a=ice-pwd:"):
			if len(creds) < 2 {
				creds = append(creds, line)
			}
		case strings.HasPrefix(line, "m="), strings.HasPrefix(line, "a=mid:"), strings.HasPrefix(line, "a=candidate:"),
			line == "a=end-of-candidates":
			media = append(media, line)
		}
	}
	for _, line := range append(creds, media...) {
		b.WriteString(line + "\r\n")
	}
	return b.String()
}
