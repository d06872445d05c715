package mesh

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Grants limit the media a member exchanges with the others: the server sees no
// media in a mesh room, so it enforces them on the session descriptions the peers
// relay (mayRelay). A nil *Grants allows everything.
type Grants struct {
	// Audio and Video: the member may send media of that kind.
	Audio, Video bool
	// Subscribe: the member may receive the others' media.
	Subscribe bool
}

func (g *Grants) sendsAudio() bool { return g == nil || g.Audio }
func (g *Grants) sendsVideo() bool { return g == nil || g.Video }
func (g *Grants) receives() bool   { return g == nil || g.Subscribe }

// mayRelay is the one rule of grants in a mesh room: media flows from one peer to
// another only if the sender may send it and the receiver may receive. Media starts
// flowing from X to Y only once X has sent Y a description (offer or answer) whose
// section for it lets X send, so a relay from X to Y whose data carries a description
// as the browser client does (data.description.sdp) is refused with ErrForbidden when
// a section of it that may send audio or video is not allowed by both peers' grants.
// Descriptions that only receive, candidates and anything else pass.
func mayRelay(from, to *Grants, data []byte) error {
	if from.sendsAudio() && from.sendsVideo() && to.receives() {
		return nil // nothing to look for: the common case costs no parsing
	}
	audio, video := describedSending(data)
	switch {
	case (audio || video) && !to.receives():
		return fmt.Errorf("%w: the peer may not receive media (its token does not grant subscribe); send it a description that only receives", ErrForbidden)
	case audio && !from.sendsAudio():
		return fmt.Errorf("%w: the join token does not grant publishing audio (microphone); send a description whose audio only receives", ErrForbidden)
	case video && !from.sendsVideo():
		return fmt.Errorf("%w: the join token does not grant publishing video (camera or screen); send a description whose video only receives", ErrForbidden)
	}
	return nil
}

// describedSending reports whether the description in data (data.description.sdp,
// where the browser client puts it) may send audio and video. Keys are matched
// exactly and a repeated key counts by its last value, as JavaScript reads them; data
// that is not a JSON object is taken to send both.
func describedSending(data []byte) (audio, video bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return true, true
	}
	var desc map[string]json.RawMessage
	if json.Unmarshal(top["description"], &desc) != nil {
		return false, false // no description object: a browser applies nothing
	}
	var sdp string
	if json.Unmarshal(desc["sdp"], &sdp) != nil {
		return false, false // no SDP string: nothing to apply
	}
	return sdpSending(sdp)
}

// sdpSending reports whether an SDP's audio and video sections may send. It errs
// towards sending: a section sends unless one of its lines is exactly "a=recvonly" or
// "a=inactive" and none, however written, starts with "a=send" (no direction means
// sendrecv); a line that merely looks like a section start begins one; a section of
// any kind but application (data channels) counts as both audio and video; and a lone
// carriage return, which parsers split differently, makes the whole SDP sending.
func sdpSending(sdp string) (audio, video bool) {
	if strings.Count(sdp, "\r") != strings.Count(sdp, "\r\n") {
		return true, true
	}
	kind, quiet, loud := "", false, false
	flush := func() {
		if kind == "" || kind == "application" || (quiet && !loud) {
			return
		}
		audio = audio || kind != "video"
		video = video || kind != "audio"
	}
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSuffix(line, "\r")
		loose := strings.ToLower(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(loose, "m="):
			flush()
			kind, quiet, loud = strings.TrimPrefix(strings.Fields(loose)[0], "m="), false, false
			if kind == "" {
				kind = "unnamed" // a section nonetheless, of no kind we know
			}
		case line == "a=recvonly" || line == "a=inactive":
			quiet = true
		case strings.HasPrefix(loose, "a=send"):
			loud = true
		}
	}
	flush()
	return audio, video
}
