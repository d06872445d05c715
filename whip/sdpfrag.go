package whip

import (
	"errors"
	"strings"

	"github.com/pion/webrtc/v4"
)

// maxFragCandidates bounds the candidates of one PATCH: a client gathers a handful
// per interface.
const maxFragCandidates = 64

// fragment is what a trickle PATCH carries.
type fragment struct {
	candidates []webrtc.ICECandidateInit
}

// parseFrag reads an SDP fragment (RFC 8840): session-level ICE credentials, then per
// m-line its mid and candidates. Lines it does not need (the credentials among them:
// Pion applies candidates to the one ICE session) are skipped.
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
		case strings.HasPrefix(line, "a=candidate:"):
			if len(f.candidates) == maxFragCandidates {
				return f, errors.New("too many candidates in one fragment")
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
