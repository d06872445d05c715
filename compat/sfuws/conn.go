package sfuws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/keepalive"
	"github.com/switchboard-rtc/switchboard/internal/ratelimit"
	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/sfu"
)

// message is the sfu-ws protocol's only message shape. Data is a JSON document
// encoded as a string: a session description or an ICE candidate.
type message struct {
	Event string `json:"event"`
	Data  string `json:"data"`
}

// The events of the protocol.
const (
	eventOffer     = "offer"
	eventAnswer    = "answer"
	eventCandidate = "candidate"
)

// conn is one sfu-ws client: a reader that applies its messages to the participant,
// one writer, and the participant's events turned into messages by the observer.
type conn struct {
	c     *websocket.Conn
	log   *slog.Logger
	queue chan []byte
	ended chan error // first reason to end

	limit             *ratelimit.Limiter // owned by readLoop; nil means no limit
	ping, pongTimeout time.Duration
}

func newConn(c *websocket.Conn, log *slog.Logger) *conn {
	return &conn{c: c, log: log, queue: make(chan []byte, queueSize), ended: make(chan error, 1)}
}

// serve joins the room, runs the connection until it ends and leaves.
func (k *conn) serve(ctx context.Context, rooms Rooms, room sfu.RoomID, name string, opts sfu.JoinOptions) error {
	opts.SingleConnection = true
	p, err := rooms.JoinWith(room, name, sfu.Observers{Connection: &observer{k: k}}, opts)
	if err != nil {
		_ = k.c.Close(websocket.StatusTryAgainLater, closeText("cannot join: "+err.Error()))
		return err
	}
	// A panic in one of the connection's goroutines ends the connection (with
	// status 1011), not the process.
	writerDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer safe.Recover(k.log, "sfu-ws writer", k.end)
		k.end(k.writeLoop(ctx, stop))
	}()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer safe.Recover(k.log, "sfu-ws reader", k.end)
		k.end(k.readLoop(ctx, p.Subscriber()))
	}()
	pingCtx, stopPing := context.WithCancel(ctx)
	pingDone := make(chan struct{})
	go func() {
		defer close(pingDone)
		defer safe.Recover(k.log, "sfu-ws pinger", k.end)
		if err := keepalive.Ping(pingCtx, k.c, k.ping, k.pongTimeout); err != nil {
			k.end(err)
		}
	}()
	var reason error
	select {
	case reason = <-k.ended:
	case <-ctx.Done():
		reason = ctx.Err()
	}
	p.Leave()
	stopPing()
	<-pingDone
	close(stop)
	<-writerDone
	_ = k.c.Close(closeStatus(reason))
	<-readerDone
	return reason
}

func (k *conn) end(err error) {
	select {
	case k.ended <- err:
	default:
	}
}

// readLoop applies the client's messages until the connection fails or one is
// malformed: the protocol has no error message, so a bad one ends the connection.
func (k *conn) readLoop(ctx context.Context, sub *sfu.Subscriber) error {
	for {
		_, frame, err := k.c.Read(ctx)
		if err != nil {
			return err
		}
		if k.limit != nil {
			switch k.limit.Take(time.Now()) {
			case ratelimit.Refuse:
				continue // the protocol cannot say so: dropped
			case ratelimit.Cut:
				return errRateLimited
			}
		}
		if err := apply(sub, frame); err != nil {
			return err
		}
	}
}

// badMessage is a message the server cannot use; it ends the connection.
type badMessage struct{ err error }

func (e *badMessage) Error() string { return "bad message: " + e.err.Error() }

// apply decodes one message and hands it to the subscriber, which owns the
// connection's negotiation.
func apply(sub *sfu.Subscriber, frame []byte) error {
	var m message
	if err := json.Unmarshal(frame, &m); err != nil {
		return &badMessage{errors.New("not a JSON object {\"event\", \"data\"}")}
	}
	switch m.Event {
	case eventAnswer:
		var d webrtc.SessionDescription
		if err := json.Unmarshal([]byte(m.Data), &d); err != nil || d.Type != webrtc.SDPTypeAnswer {
			return &badMessage{errors.New("answer data is not a JSON answer {\"type\": \"answer\", \"sdp\"}")}
		}
		return badIf(sub.Answer(d.SDP))
	case eventCandidate:
		var c webrtc.ICECandidateInit
		if err := json.Unmarshal([]byte(m.Data), &c); err != nil {
			return &badMessage{errors.New("candidate data is not a JSON ICE candidate")}
		}
		return badIf(sub.AddCandidate(c))
	}
	return &badMessage{fmt.Errorf("unknown event %.32q", m.Event)}
}

func badIf(err error) error {
	if err == nil || errors.Is(err, sfu.ErrClosed) {
		return err
	}
	return &badMessage{err}
}

// send queues a message; it never blocks, and a full queue ends the connection.
func (k *conn) send(event string, data any) {
	d, err := json.Marshal(data)
	if err != nil {
		k.log.Error("cannot encode", "event", event, "err", err)
		return
	}
	b, _ := json.Marshal(message{Event: event, Data: string(d)})
	select {
	case k.queue <- b:
	default:
		k.end(errSlowConsumer)
	}
}

var (
	errSlowConsumer = errors.New("slow consumer")
	errRateLimited  = errors.New("rate limited: too many messages")
)

// writeLoop is the connection's single writer. Once stop is closed it writes what is
// queued and returns.
func (k *conn) writeLoop(ctx context.Context, stop <-chan struct{}) error {
	for {
		select {
		case b := <-k.queue:
			if err := k.write(ctx, b); err != nil {
				return err
			}
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (k *conn) write(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return k.c.Write(ctx, websocket.MessageText, b)
}

// closeStatus maps why a connection ended to its WebSocket close status.
func closeStatus(reason error) (websocket.StatusCode, string) {
	var bad *badMessage
	switch {
	case errors.As(reason, &bad):
		return websocket.StatusPolicyViolation, closeText(bad.Error())
	case isPanic(reason):
		return websocket.StatusInternalError, "internal error"
	case errors.Is(reason, errSlowConsumer):
		return websocket.StatusPolicyViolation, "slow consumer"
	case errors.Is(reason, errRateLimited):
		return websocket.StatusPolicyViolation, "rate limited"
	case errors.Is(reason, keepalive.ErrPongTimeout):
		return websocket.StatusPolicyViolation, "no pong"
	case errors.Is(reason, context.Canceled):
		return websocket.StatusGoingAway, "server shutting down"
	case errors.Is(reason, sfu.ErrReplaced):
		return websocket.StatusPolicyViolation, "replaced by a new connection with the same identity"
	case errors.Is(reason, sfu.ErrRemoved):
		return websocket.StatusPolicyViolation, "removed by an administrator"
	case errors.Is(reason, sfu.ErrRoomClosed):
		return websocket.StatusPolicyViolation, "room closed by an administrator"
	}
	return websocket.StatusNormalClosure, ""
}

// closeText shortens text to fit a close frame's reason (at most 123 bytes).
func closeText(text string) string {
	if len(text) > 120 {
		text = text[:120]
	}
	return text
}

// isPanic reports whether reason is a panic stopped in code serving the connection
// (its details are logged, not sent).
func isPanic(reason error) bool {
	_, ok := errors.AsType[*safe.Error](reason)
	return ok
}
