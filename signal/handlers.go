package signal

import (
	"encoding/json"
	"strings"

	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
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
	TypeJoin:            {run: (*Session).join},
	TypePublishOffer:    {need: inSFU, run: (*Session).publishOffer},
	TypeSubscribeAnswer: {need: inSFU, run: (*Session).subscribeAnswer},
	TypeCandidate:       {need: inSFU, run: (*Session).candidate},
	TypeChat:            {need: joined, run: (*Session).chat},
	TypeRelay:           {need: inMesh, run: (*Session).relay},
	TypeLeave:           {run: func(*Session, string, []byte) error { return ErrLeft }},
	TypePing:            {run: (*Session).ping},
}

// decode unmarshals a message body; a failure is the client's.
func decode(frame []byte, v any) error {
	if err := json.Unmarshal(frame, v); err != nil {
		return protocolError(CodeBadRequest, "malformed message: "+err.Error())
	}
	return nil
}

func (s *Session) join(id string, frame []byte) error {
	switch {
	case s.participant != nil:
		return protocolError(CodeAlreadyJoined, "this session has joined room "+quote(string(s.participant.RoomID())))
	case s.member != nil:
		return protocolError(CodeAlreadyJoined, "this session has joined room "+quote(string(s.member.RoomID())))
	}
	var req joinRequest
	if err := decode(frame, &req); err != nil {
		return err
	}
	if _, err := roster.ParseRoomID(req.Room); err != nil {
		return protocolError(CodeBadRequest, err.Error())
	}
	if a := s.access; a.Room != "" && a.Room != sfu.RoomID(req.Room) {
		return protocolError(CodeForbidden, "token is for room "+quote(string(a.Room)))
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
	return s.cfg.Rooms.JoinWith(room, name, s.obs.observers(), s.access.joinOptions())
}

// joinMode is the mode a join asks for: the one it names, else the configured
// default for its room.
func (s *Session) joinMode(req joinRequest) (directory.Mode, error) {
	if req.Mode == "" {
		if s.cfg.DefaultMode == nil {
			return directory.SFU, nil
		}
		return s.cfg.DefaultMode(req.Room), nil
	}
	mode, ok := directory.ParseMode(req.Mode)
	if !ok {
		return "", protocolError(CodeBadRequest, "mode: \"sfu\" or \"mesh\"")
	}
	if mode == directory.Mesh && s.cfg.Mesh == nil {
		return "", protocolError(CodeBadRequest, "this server has no mesh rooms")
	}
	return mode, nil
}

// displayName checks a client's display name by the rule of every transport.
func displayName(name string) (string, error) {
	name, err := roster.ParseDisplayName(name)
	if err != nil {
		return "", protocolError(CodeBadRequest, err.Error())
	}
	return name, nil
}

func (s *Session) publishOffer(id string, frame []byte) error {
	var req publishOffer
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
			return protocolError(CodeBadRequest, "sources: unknown source "+quote(name))
		}
		sources[mid] = src
	}
	answer, err := s.participant.Publisher().Answer(req.SDP, sources)
	if err != nil {
		return err
	}
	s.send(answerMessage{Type: TypePublishAnswer, Re: id, SDP: answer})
	return nil
}

func (s *Session) subscribeAnswer(_ string, frame []byte) error {
	var req subscribeAnswer
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
		return protocolError(CodeBadRequest, "sdp is missing")
	case len(sdp) > MaxSDPSize:
		return protocolError(CodeBadRequest, "sdp is larger than 192 KiB")
	}
	return nil
}

func (s *Session) candidate(_ string, frame []byte) error {
	var req candidateMessage
	if err := decode(frame, &req); err != nil {
		return err
	}
	if req.Candidate == nil {
		return protocolError(CodeBadRequest, "candidate is missing")
	}
	if req.Candidate.Candidate == "" {
		return nil // end of candidates
	}
	switch sfu.Side(req.Target) {
	case sfu.SidePublisher:
		return s.participant.Publisher().AddCandidate(*req.Candidate)
	case sfu.SideSubscriber:
		return s.participant.Subscriber().AddCandidate(*req.Candidate)
	}
	return protocolError(CodeBadRequest, "target: \"publisher\" or \"subscriber\"")
}

func (s *Session) chat(_ string, frame []byte) error {
	var req chatRequest
	if err := decode(frame, &req); err != nil {
		return err
	}
	text := strings.TrimSpace(req.Text)
	switch {
	case text == "":
		return protocolError(CodeBadRequest, "text is empty")
	case len(text) > MaxChatSize:
		return protocolError(CodeBadRequest, "text is longer than 4096 bytes")
	}
	if s.member != nil {
		return s.member.Chat(text)
	}
	s.participant.Chat(text)
	return nil
}

func (s *Session) ping(id string, _ []byte) error {
	s.send(pongMessage{Type: TypePong, Re: id})
	return nil
}
