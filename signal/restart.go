package signal

import "github.com/switchboard-rtc/switchboard/wire"

// restartICE asks the media core for a subscribe-offer that restarts ICE: the client's
// subscriber connection went down. (Its publisher it restarts itself, with a
// publish-offer made with iceRestart.)
func (s *Session) restartICE(_ string, frame []byte) error {
	var req wire.RestartICE
	if err := decode(frame, &req); err != nil {
		return err
	}
	if req.Target != wire.TargetSubscriber {
		return protocolError(wire.CodeBadRequest, "target: \"subscriber\" (restart the publisher with a publish-offer made with iceRestart)")
	}
	return s.participant.Subscriber().RestartICE()
}
