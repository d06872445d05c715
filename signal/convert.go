package signal

import (
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// wire.ICECandidate has the fields of webrtc.ICECandidateInit, so that candidates cross
// the seam with a conversion; this fails to compile if the two drift apart.
var _ = webrtc.ICECandidateInit(wire.ICECandidate{})

// iceServersToWire describes servers as the joined message carries them: an array,
// empty rather than null, in the JSON webrtc.ICEServer encodes to.
func iceServersToWire(servers []webrtc.ICEServer) []wire.ICEServer {
	out := make([]wire.ICEServer, len(servers))
	for i, s := range servers {
		out[i] = wire.ICEServer{Credential: s.Credential, CredentialType: s.CredentialType.String(),
			URLs: s.URLs, Username: s.Username}
	}
	return out
}

// iceServers are the ICE servers for the session's client, whose participant id is
// id.
func (s *Session) iceServers(id string) []wire.ICEServer {
	if s.cfg.ICEServersFor == nil {
		return iceServersToWire(s.cfg.ICEServers)
	}
	who := s.access.Identity
	if who == "" {
		who = id
	}
	return iceServersToWire(s.cfg.ICEServersFor(who))
}

// targetOf names side as a candidate message does.
func targetOf(side sfu.Side) string {
	if side == sfu.SideSubscriber {
		return wire.TargetSubscriber
	}
	return wire.TargetPublisher
}
