package signal

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/auto"
	"github.com/switchboard-rtc/switchboard/directory"
	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Rooms is what a session needs to put its client in an SFU room: *sfu.Rooms on a
// single node, a cluster-aware directory on several. It applies the options of the
// session's join token (identity, grants); the zero JoinOptions when there is none.
type Rooms interface {
	JoinWith(room sfu.RoomID, name string, obs sfu.Observers, opts sfu.JoinOptions) (*sfu.Participant, error)
}

// MeshRooms is what a session needs to put its client in a mesh room: *mesh.Rooms on
// a single node.
type MeshRooms interface {
	JoinWith(room mesh.RoomID, name string, obs mesh.Observer, opts mesh.JoinOptions) (*mesh.Member, error)
}

// Outbox carries encoded messages to the client. Send never blocks: it queues msg and
// reports false when it cannot (queue full, connection gone), and the session ends.
type Outbox interface {
	Send(msg []byte) bool
}

// Config is shared by all sessions of a server.
type Config struct {
	// Rooms is where clients join SFU rooms. Required.
	Rooms Rooms
	// ErrorSent, when set, is called with the code (a wire.Code constant) of every
	// error message sent to a client, on the session's goroutine: for metrics. It
	// must return quickly.
	ErrorSent func(code string)
	// Mesh is where clients join mesh rooms; nil refuses joins in mesh mode.
	Mesh MeshRooms
	// Auto is where clients join auto rooms; nil refuses joins in auto mode.
	Auto AutoRooms
	// DefaultMode is the mode of a join that names none, for a room name; nil means
	// SFU. (directory.Local.DefaultMode: mesh for names configured so.)
	DefaultMode func(room string) directory.Mode
	// ICEServers are handed to clients in joined, for both their connections.
	ICEServers []webrtc.ICEServer
	// ICEServersFor, when set, replaces ICEServers: it is asked for the servers of
	// each client as it joins, with who the client is (its token's identity, else
	// its participant id), for credentials of its own (short-lived TURN ones). It
	// is called on the session's goroutine and must return quickly.
	ICEServersFor func(who string) []webrtc.ICEServer
	// IdleTimeout ends a session that has received nothing for this long. Clients ping
	// every 10 s. Zero means 30 s.
	IdleTimeout time.Duration
	// JoinTimeout ends a session that has not joined a room this long after it
	// started: the client is sent an error with code join-timeout and the session
	// returns ErrJoinTimeout. Pings do not extend it. Zero means DefaultJoinTimeout;
	// negative means no deadline.
	JoinTimeout time.Duration
	// Limits bound what each client may send; the zero value is the defaults.
	Limits Limits
	// Logger receives session logs; nil means slog.Default().
	Logger *slog.Logger
	// Drain, when set, is the server's graceful shutdown: once it starts, joins are
	// refused with draining and every session is sent a draining message. Nil: the
	// server never drains.
	Drain Drainer
}

// DefaultJoinTimeout is how long a session may stay without joining a room: ample for
// a client that connects to join, short enough that sessions opened and left
// unjoined do not pile up.
const DefaultJoinTimeout = 30 * time.Second

// joinDeadline is the timer of the join deadline, and its channel; the channel is nil
// (never ready) when there is no deadline.
func (c *Config) joinDeadline() (*time.Timer, <-chan time.Time) {
	d := c.JoinTimeout
	switch {
	case d < 0:
		return nil, nil
	case d == 0:
		d = DefaultJoinTimeout
	}
	t := time.NewTimer(d)
	return t, t.C
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

	inbox   chan []byte
	actions chan func()   // from the session's auto room (post)
	ended   chan error    // first reason to end, from any goroutine
	done    chan struct{} // closed when Run stops taking frames

	access    Access // set before Run
	transport string // set before Run (SetTransport)
	logAttrs  []any  // set before Run: on every log line of the session and its participant

	// Owned by Run. At most one of participant and member is set: the session is
	// in an SFU room or in a mesh room; but in an auto room (seat set) during a
	// switch, when it is in both sides (auto.go).
	participant *sfu.Participant
	member      *mesh.Member
	seat        *auto.Seat
	side        directory.Mode     // an auto room's side the session joined last
	name        string             // the display name it joined an auto room with
	relays      *ratelimit.Limiter // a mesh peer's relays
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
		cfg: cfg, out: out, log: log, limit: ratelimit.New(rate, burst), relays: newRelayLimiter(),
		inbox: make(chan []byte), actions: make(chan func(), maxActions), ended: make(chan error, 1), done: make(chan struct{}),
	}
	s.obs = &observer{s: s}
	return s
}

// SetTransport names the transport that carries the session ("websocket", "sse") in
// its logs and its participant's, and as its participant's transport in metrics
// (sfu.JoinOptions.Transport). Call it before Run.
func (s *Session) SetTransport(name string) {
	s.transport = name
	s.log = s.log.With("transport", name)
}

// LogWith adds attributes (slog key-value pairs) to every log line of the session and
// of its participant in the media core: the request id of the request that opened it,
// say. Call it before Run.
func (s *Session) LogWith(args ...any) {
	s.logAttrs = append(s.logAttrs, args...)
	s.log = s.log.With(args...)
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
	joinBy, joinDeadline := s.cfg.joinDeadline()
	if joinBy != nil {
		defer joinBy.Stop()
	}
	s.lastHeard = time.Now()
	drain := s.cfg.draining()
	var err error
	for err == nil {
		select {
		case frame := <-s.inbox:
			s.lastHeard = time.Now()
			err = s.admit(frame)
		case err = <-s.ended:
		case fn := <-s.actions:
			fn()
		case <-ticker.C:
			if time.Since(s.lastHeard) > idle {
				err = ErrIdle
			}
		case <-joinDeadline:
			err = s.joinTimedOut()
		case <-drain:
			drain = nil // told once
			s.send(wire.TypeDraining, "", s.cfg.drainingBody())
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	close(s.done)
	if s.participant != nil {
		s.participant.Leave()
	}
	if s.member != nil {
		s.member.Leave()
	}
	if s.seat != nil {
		s.seat.Leave()
	}
	s.scopedLog().Debug("session ended", "reason", err)
	return err
}

// joinTimedOut ends a session that has not joined a room by the join deadline,
// telling the client why; a session in a room goes on.
func (s *Session) joinTimedOut() error {
	if s.participant != nil || s.member != nil {
		return nil
	}
	s.sendError("", protocolError(wire.CodeJoinTimeout, "no room joined within the join timeout: closing"))
	s.log.Info("session closed: no room joined in time")
	return ErrJoinTimeout
}

// admit handles frame if the client is within its message rate, refuses it with a
// rate-limited error if it is over, and ends the session if it is far over; a message
// the rate does not count (counted) is always handled.
func (s *Session) admit(frame []byte) error {
	env, decodeErr := wire.DecodeFromClient(frame)
	if s.counted(env, decodeErr) {
		switch s.limit.Take(time.Now()) {
		case ratelimit.Refuse:
			if len(env.ID) > wire.MaxIDSize {
				env.ID = ""
			}
			s.sendError(env.ID, protocolError(wire.CodeRateLimited, "too many messages: this one was not handled"))
			return nil
		case ratelimit.Cut:
			s.scopedLog().Info("client over its message rate: disconnected")
			return ErrRateLimited
		}
	}
	return s.handle(env, decodeErr, frame)
}

// counted reports whether a message (env, or decodeErr) counts against the client's
// message rate. A leave does not: refusing it would keep the session, and its room,
// going for a client that is done, and a client over its rate is exactly one whose
// leave must not be lost (an auto room's switches make its client send answers,
// candidates and switched in bursts). Only a leave that ends the session is spared:
// one that does not decode, or whose id is too long, is answered with an error
// (handle) and counts. A mesh peer's relays have a budget of their own
// (newRelayLimiter), sized for the offers and candidates it exchanges with every
// other peer at once.
func (s *Session) counted(env wire.Envelope, decodeErr error) bool {
	switch {
	case decodeErr != nil || len(env.ID) > wire.MaxIDSize:
		return true
	case env.Type == wire.TypeLeave:
		return false
	case env.Type == wire.TypeRelay:
		return s.member == nil
	}
	return true
}

// handle runs the handler of frame, whose envelope decoded to env (or failed with
// decodeErr). It returns an error only when the session must end; anything else the
// client got wrong is answered with an error message.
func (s *Session) handle(env wire.Envelope, decodeErr error, frame []byte) error {
	if decodeErr != nil || env.Type == "" {
		s.sendError("", protocolError(wire.CodeBadJSON, "a message is a JSON object with a string \"type\""))
		return nil
	}
	if len(env.ID) > wire.MaxIDSize {
		s.sendError("", protocolError(wire.CodeBadRequest, "id is longer than 64 characters"))
		return nil
	}
	h, ok := handlers[env.Type]
	if !ok {
		s.sendError(env.ID, protocolError(wire.CodeUnknownType, "unknown message type "+quote(env.Type)))
		return nil
	}
	if err := s.admits(h.need, env.Type); err != nil {
		s.sendError(env.ID, err)
		return nil
	}
	err := s.run(h, env, frame)
	switch {
	case err == nil:
	case err == ErrLeft:
		return err
	case errors.Is(err, ErrInternal):
		s.sendError(env.ID, err)
		return err
	case errors.Is(err, ErrFlood):
		s.sendError(env.ID, protocolError(wire.CodeFlood, "too many relays: disconnecting"))
		return err
	default:
		code, _ := toWire(err)
		if code == wire.CodeInternal {
			s.scopedLog().Warn("request failed", "type", env.Type, "err", err)
		}
		s.sendError(env.ID, err)
	}
	return nil
}

// run runs h on frame. A panic in h is logged with its stack and ends the session
// with ErrInternal: the client's state may be half changed, and everyone else's is
// not touched.
func (s *Session) run(h handler, env wire.Envelope, frame []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			_ = safe.Report(s.scopedLog(), "signal handler "+env.Type, v)
			err = ErrInternal // the details are in the log, not for the client
		}
	}()
	return h.run(s, env.ID, frame)
}

// endInternal tells the client that the server failed, without detail, and ends the
// session with ErrInternal: after a panic in code serving it, logged where it was
// stopped. It never blocks.
func (s *Session) endInternal() {
	s.sendError("", ErrInternal)
	s.End(ErrInternal)
}

// scopedLog is the session's logger with its room and participant, when it has them.
func (s *Session) scopedLog() *slog.Logger {
	switch {
	case s.participant != nil:
		return s.log.With("room", s.participant.RoomID(), "participant", s.participant.ID())
	case s.member != nil:
		return s.log.With("room", s.member.RoomID(), "participant", s.member.ID())
	case s.obs.room != "":
		return s.log.With("room", s.obs.room) // joining: no participant yet
	}
	return s.log
}

// admits checks that the session is where a message of type typ needs it to be.
func (s *Session) admits(need need, typ string) error {
	switch {
	case need == anytime:
	case s.participant == nil && s.member == nil:
		return protocolError(wire.CodeNotJoined, typ+" before join")
	case need == inSFU && s.participant == nil:
		return protocolError(wire.CodeWrongMode, typ+" is for SFU rooms; this is a mesh room")
	case need == inMesh && s.member == nil:
		return protocolError(wire.CodeWrongMode, typ+" is for mesh rooms; this is an SFU room")
	}
	return nil
}

// send encodes a message of type typ with body (nil for none), answering the request
// re when it is not empty, and queues it for the client; a full queue ends the
// session.
func (s *Session) send(typ, re string, body any) {
	b, err := wire.Encode(wire.Envelope{Type: typ, Re: re}, body)
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
	if s.cfg.ErrorSent != nil {
		s.cfg.ErrorSent(code)
	}
	s.send(wire.TypeError, re, wire.Error{Code: code, Message: msg})
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
