package signal

import (
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// handler runs one type of client message, in the sessions need says.
type handler struct {
	need need
	run  func(s *Session, id string, frame []byte) error
}

// need says which sessions take a type of message.
type need int

const (
	anytime need = iota // before or after join
	joined              // joined to a room of either mode
	inSFU               // joined to an SFU room
	inMesh              // joined to a mesh room
)

var handlers = map[string]handler{
	wire.TypeJoin:            {run: (*Session).join},
	wire.TypePublishOffer:    {need: inSFU, run: (*Session).publishOffer},
	wire.TypeSubscribeAnswer: {need: inSFU, run: (*Session).subscribeAnswer},
	wire.TypeCandidate:       {need: inSFU, run: (*Session).candidate},
	wire.TypeChat:            {need: joined, run: (*Session).chat},
	wire.TypeRelay:           {need: inMesh, run: (*Session).relay},
	wire.TypeLeave:           {run: func(*Session, string, []byte) error { return ErrLeft }},
	wire.TypePing:            {run: (*Session).ping},
	wire.TypeTrackView:       {need: inSFU, run: (*Session).trackView},
}

// decode unmarshals a message body; a failure is the client's.
func decode(frame []byte, v any) error {
	if err := wire.DecodeBody(frame, v); err != nil {
		return protocolError(wire.CodeBadRequest, "malformed message: "+err.Error())
	}
	return nil
}

func (s *Session) join(id string, frame []byte) error {
	switch {
	case s.participant != nil:
		return protocolError(wire.CodeAlreadyJoined, "this session has joined room "+quote(string(s.participant.RoomID())))
	case s.member != nil:
		return protocolError(wire.CodeAlreadyJoined, "this session has joined room "+quote(string(s.member.RoomID())))
	}
	if s.cfg.isDraining() {
		return ErrDraining
	}
	var req wire.Join
	if err := decode(frame, &req); err != nil {
		return err
	}
	if _, err := roster.ParseRoomID(req.Room); err != nil {
		return protocolError(wire.CodeBadRequest, err.Error())
	}
	if a := s.access; a.Room != "" && a.Room != sfu.RoomID(req.Room) {
		return protocolError(wire.CodeForbidden, "token is for room "+quote(string(a.Room)))
	}
	if s.access.Name != "" {
		req.Name = s.access.Name
	}
	name, err := displayName(req.Name)
	if err != nil {
		return err
	}
	mode, err := s.joinMode(req)
	if err != nil {
		return err
	}
	if mode == directory.Mesh {
		return s.joinMesh(id, req.Room, name)
	}
	s.obs.joinRe, s.obs.room = id, req.Room
	p, err := s.joinRoom(sfu.RoomID(req.Room), name)
	if err != nil {
		return err
	}
	s.participant = p
	return nil
}

// joinRoom joins through the directory, with the session's identity and grants when
// it has any.
func (s *Session) joinRoom(room sfu.RoomID, name string) (*sfu.Participant, error) {
	opts := s.access.joinOptions()
	opts.Transport, opts.LogAttrs = s.transport, s.logAttrs
	return s.cfg.Rooms.JoinWith(room, name, s.obs.observers(), opts)
}

// joinMode is the mode a join asks for: the one it names, else the configured
// default for its room.
func (s *Session) joinMode(req wire.Join) (directory.Mode, error) {
	if req.Mode == "" {
		if s.cfg.DefaultMode == nil {
			return directory.SFU, nil
		}
		return s.cfg.DefaultMode(req.Room), nil
	}
	mode, ok := directory.ParseMode(req.Mode)
	if !ok {
		return "", protocolError(wire.CodeBadRequest, "mode: \"sfu\" or \"mesh\"")
	}
	if mode == directory.Mesh && s.cfg.Mesh == nil {
		return "", protocolError(wire.CodeBadRequest, "this server has no mesh rooms")
	}
	return mode, nil
}

// displayName checks a client's display name by the rule of every transport.
func displayName(name string) (string, error) {
	name, err := roster.ParseDisplayName(name)
	if err != nil {
		return "", protocolError(wire.CodeBadRequest, err.Error())
	}
	return name, nil
}

func (s *Session) publishOffer(id string, frame []byte) error {
	var req wire.PublishOffer
	if err := decode(frame, &req); err != nil {
		return err
	}
	if err := checkSDP(req.SDP); err != nil {
		return err
	}
	sources := make(map[string]sfu.Source, len(req.Sources))
	for mid, name := range req.Sources {
		src, ok := sfu.ParseSource(name)
		if !ok {
			return protocolError(wire.CodeBadRequest, "sources: unknown source "+quote(name))
		}
		sources[mid] = src
	}
	answer, err := s.participant.Publisher().Answer(req.SDP, sources)
	if err != nil {
		return err
	}
	s.send(wire.TypePublishAnswer, id, wire.Answer{SDP: answer})
	return nil
}

func (s *Session) subscribeAnswer(_ string, frame []byte) error {
	var req wire.SubscribeAnswer
	if err := decode(frame, &req); err != nil {
		return err
	}
	if err := checkSDP(req.SDP); err != nil {
		return err
	}
	return s.participant.Subscriber().Answer(req.SDP)
}

func checkSDP(sdp string) error {
	switch {
	case sdp == "":
		return protocolError(wire.CodeBadRequest, "sdp is missing")
	case len(sdp) > wire.MaxSDPSize:
		return protocolError(wire.CodeBadRequest, "sdp is larger than 192 KiB")
	}
	return nil
}

func (s *Session) trackView(_ string, frame []byte) error {
	var req wire.TrackView
	if err := decode(frame, &req); err != nil {
		return err
	}
	if req.Track == "" {
		return protocolError(wire.CodeBadRequest, "track is missing")
	}
	visible := req.Visible == nil || *req.Visible
	return s.participant.Subscriber().ViewTrack(sfu.TrackID(req.Track), req.Width, req.Height, visible)
}

func (s *Session) candidate(_ string, frame []byte) error {
	var req wire.Candidate
	if err := decode(frame, &req); err != nil {
		return err
	}
	if req.Candidate == nil {
		return protocolError(wire.CodeBadRequest, "candidate is missing")
	}
	if req.Candidate.Candidate == "" {
		return nil // end of candidates
	}
	switch req.Target {
	case wire.TargetPublisher:
		return s.participant.Publisher().AddCandidate(webrtc.ICECandidateInit(*req.Candidate))
	case wire.TargetSubscriber:
		return s.participant.Subscriber().AddCandidate(webrtc.ICECandidateInit(*req.Candidate))
	}
	return protocolError(wire.CodeBadRequest, "target: \"publisher\" or \"subscriber\"")
}

func (s *Session) chat(_ string, frame []byte) error {
	var req wire.ChatRequest
	if err := decode(frame, &req); err != nil {
		return err
	}
	text := strings.TrimSpace(req.Text)
	switch {
	case text == "":
		return protocolError(wire.CodeBadRequest, "text is empty")
	case len(text) > wire.MaxChatSize:
		return protocolError(wire.CodeBadRequest, "text is longer than 4096 bytes")
	}
	if s.member != nil {
		return s.member.Chat(text)
	}
	s.participant.Chat(text)
	return nil
}

func (s *Session) ping(id string, _ []byte) error {
	s.send(wire.TypePong, id, nil)
	return nil
}
