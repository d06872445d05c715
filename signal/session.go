package signal

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// Rooms is what a session needs to put its client in a room: *sfu.Rooms on a single
// node, a cluster-aware directory on several.
type Rooms interface {
	Join(room sfu.RoomID, name string, obs sfu.Observer) (*sfu.Participant, error)
}

// Outbox carries encoded messages to the client. Send never blocks: it queues msg and
// reports false when it cannot (queue full, connection gone), and the session ends.
type Outbox interface {
	Send(msg []byte) bool
}

// Config is shared by all sessions of a server.
type Config struct {
	// Rooms is where clients join. Required.
	Rooms Rooms
	// ICEServers are handed to clients in joined, for both their connections.
	ICEServers []webrtc.ICEServer
	// IdleTimeout ends a session that has received nothing for this long. Clients ping
	// every 10 s. Zero means 30 s.
	IdleTimeout time.Duration
	// Limits bound what each client may send; the zero value is the defaults.
	Limits Limits
	// Logger receives session logs; nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return 30 * time.Second
}

// Session is one client's conversation with the server. Run owns its state: frames
// from Deliver and events from the media core are handled there, one at a time.
type Session struct {
	cfg *Config
	out Outbox
	log *slog.Logger
	obs *observer

	limit *ratelimit.Limiter

	inbox chan []byte
	ended chan error    // first reason to end, from any goroutine
	done  chan struct{} // closed when Run stops taking frames

	access Access // set before Run

	// Owned by Run.
	participant *sfu.Participant
	lastHeard   time.Time
}

// NewSession returns a session that answers through out. Call Run to start it.
func NewSession(cfg *Config, out Outbox) *Session {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	rate, burst := cfg.Limits.Rate()
	s := &Session{
		cfg: cfg, out: out, log: log, limit: ratelimit.New(rate, burst),
		inbox: make(chan []byte), ended: make(chan error, 1), done: make(chan struct{}),
	}
	s.obs = &observer{s: s}
	return s
}

// Restrict limits the session to what a allows. Call it before Run.
func (s *Session) Restrict(a Access) { s.access = a }

// Deliver hands one frame from the client to the session and waits until the session
// takes it. It returns false once the session has ended: the transport should stop
// reading.
func (s *Session) Deliver(frame []byte) bool {
	select {
	case s.inbox <- frame:
		return true
	case <-s.done:
		return false
	}
}

// End asks the session to end for err. It never blocks; the first reason wins.
func (s *Session) End(err error) {
	select {
	case s.ended <- err:
	default:
	}
}

// Run handles the session until the client leaves, the context ends, or End is
// called, and returns why. Before returning it removes the client from its room.
func (s *Session) Run(ctx context.Context) error {
	idle := s.cfg.idleTimeout()
	ticker := time.NewTicker(idle / 4)
	defer ticker.Stop()
	s.lastHeard = time.Now()
	var err error
	for err == nil {
		select {
		case frame := <-s.inbox:
			s.lastHeard = time.Now()
			err = s.admit(frame)
		case err = <-s.ended:
		case <-ticker.C:
			if time.Since(s.lastHeard) > idle {
				err = ErrIdle
			}
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	close(s.done)
	if s.participant != nil {
		s.participant.Leave()
	}
	s.log.Debug("session ended", "participant", s.participantID(), "reason", err)
	return err
}

// admit handles frame if the client is within its message rate, refuses it with a
// rate-limited error if it is over, and ends the session if it is far over.
func (s *Session) admit(frame []byte) error {
	switch s.limit.Take(time.Now()) {
	case ratelimit.Refuse:
		var env envelope
		_ = json.Unmarshal(frame, &env) // only for the id; the message is not handled
		if len(env.ID) > MaxNameSize {
			env.ID = ""
		}
		s.sendError(env.ID, protocolError(CodeRateLimited, "too many messages: this one was not handled"))
		return nil
	case ratelimit.Cut:
		s.log.Info("client over its message rate: disconnected", "participant", s.participantID())
		return ErrRateLimited
	}
	return s.handle(frame)
}

// handle decodes one frame and runs its handler. It returns an error only when the
// session must end; anything else the client got wrong is answered with an error
// message.
func (s *Session) handle(frame []byte) error {
	var env envelope
	if err := json.Unmarshal(frame, &env); err != nil || env.Type == "" {
		s.sendError("", protocolError(CodeBadJSON, "a message is a JSON object with a string \"type\""))
		return nil
	}
	if len(env.ID) > MaxNameSize {
		s.sendError("", protocolError(CodeBadRequest, "id is longer than 64 characters"))
		return nil
	}
	h, ok := handlers[env.Type]
	if !ok {
		s.sendError(env.ID, protocolError(CodeUnknownType, "unknown message type "+quote(env.Type)))
		return nil
	}
	if h.joined && s.participant == nil {
		s.sendError(env.ID, protocolError(CodeNotJoined, env.Type+" before join"))
		return nil
	}
	err := h.run(s, env.ID, frame)
	switch {
	case err == nil:
	case err == ErrLeft:
		return err
	default:
		code, _ := toWire(err)
		if code == CodeInternal {
			s.log.Warn("request failed", "type", env.Type, "participant", s.participantID(), "err", err)
		}
		s.sendError(env.ID, err)
	}
	return nil
}

func (s *Session) participantID() sfu.ParticipantID {
	if s.participant == nil {
		return ""
	}
	return s.participant.ID()
}

// send encodes v and queues it for the client; a full queue ends the session.
func (s *Session) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("cannot encode message", "err", err)
		return
	}
	if !s.out.Send(b) {
		s.End(ErrSlowConsumer)
	}
}

func (s *Session) sendError(re string, err error) {
	code, msg := toWire(err)
	s.send(errorMessage{Type: TypeError, Re: re, Code: code, Message: msg})
}

// quote shortens and quotes client-supplied text for an error message.
func quote(s string) string {
	const max = 32
	if len(s) > max {
		s = s[:max] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
