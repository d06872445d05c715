package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/valyala/fasthttp"

	"github.com/switchboard-rtc/switchboard/server"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/wire"
)

// Events are a WebSocket's life as Fiber applications usually handle it: one call
// when it opens, one per text message, one when it closes.
type Events interface {
	// OnOpen is called first, with the context of the admitted request; send queues
	// a text message (never blocking, false when the connection cannot take it) and
	// hangup closes the connection once what is queued is written. It returns the
	// connection's state, which the other calls get.
	OnOpen(ctx context.Context, send func([]byte) bool, hangup func()) any
	OnMessage(state any, msg []byte)
	// OnClose is called once the connection is closed, by either side.
	OnClose(state any, err error)
}

const (
	// queueSize bounds the messages waiting for the client, as in signal/ws.
	queueSize = 256
	// writeTimeout bounds one write.
	writeTimeout = 10 * time.Second
)

// admitter admits a request that opens a session: *server.Server.
type admitter interface {
	Admit(r *http.Request) (*server.Admission, error)
}

// upgrade is a Fiber handler that admits the request as Switchboard admits its own
// WebSocket (per-address limits, Origin, tokens), turns it into a WebSocket and runs
// ev on it.
func upgrade(rtc admitter, ev Events) fiber.Handler {
	up := websocket.FastHTTPUpgrader{
		// Same-origin only, as the server's own WebSocket endpoint.
		CheckOrigin: func(ctx *fasthttp.RequestCtx) bool {
			origin := string(ctx.Request.Header.Peek("Origin"))
			return origin == "" || origin == "http://"+string(ctx.Host()) || origin == "https://"+string(ctx.Host())
		},
	}
	return func(c fiber.Ctx) error {
		if !websocket.FastHTTPIsWebSocketUpgrade(c.RequestCtx()) {
			return fiber.ErrUpgradeRequired
		}
		r, err := adaptor.ConvertRequest(c, true)
		if err != nil {
			return err
		}
		a, err := rtc.Admit(r)
		if err != nil {
			return refuse(c, err)
		}
		ctx := server.WithAdmission(context.Background(), a)
		if err := up.Upgrade(c.RequestCtx(), func(conn *websocket.Conn) { serve(ctx, conn, ev) }); err != nil {
			a.Release()
			return err
		}
		return nil
	}
}

// refuse answers a request that admission refused, as the server answers its own.
func refuse(c fiber.Ctx, err error) error {
	var rf *server.Refusal
	if !errors.As(err, &rf) {
		return err
	}
	if rf.RetryAfter > 0 {
		c.Set("Retry-After", strconv.Itoa(int(rf.RetryAfter.Round(time.Second)/time.Second)))
	}
	return c.Status(rf.Status).JSON(fiber.Map{"error": fiber.Map{"code": rf.Code, "message": rf.Reason}})
}

// serve runs one connection: this goroutine reads, one writer goroutine writes.
func serve(ctx context.Context, conn *websocket.Conn, ev Events) {
	// Messages over the limit fail the read and close the connection.
	conn.SetReadLimit(wire.MaxMessageSize)
	queue := make(chan []byte, queueSize)
	closed := make(chan struct{})
	hangupCh := make(chan struct{})
	var once sync.Once
	hangup := func() { once.Do(func() { close(hangupCh) }) }
	send := func(msg []byte) bool {
		select {
		case queue <- msg:
			return true
		default:
			return false
		}
	}
	state := ev.OnOpen(ctx, send, hangup)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		writeLoop(conn, queue, closed, hangupCh)
	}()
	var err error
	for {
		var kind int
		var msg []byte
		kind, msg, err = conn.ReadMessage()
		if err != nil {
			break
		}
		if kind == websocket.TextMessage {
			ev.OnMessage(state, msg)
		}
	}
	close(closed)
	<-writerDone
	_ = conn.Close()
	ev.OnClose(state, err)
}

// writeLoop writes queued messages until a write fails or the reader stops (closed).
// On hangup it writes what is queued, then a close frame, and closes the connection,
// which ends the reader.
func writeLoop(conn *websocket.Conn, queue <-chan []byte, closed, hangup <-chan struct{}) {
	for {
		select {
		case msg := <-queue:
			if write(conn, msg) != nil {
				_ = conn.Close() // the reader then fails and the connection ends
				return
			}
		case <-hangup:
			for len(queue) > 0 {
				if write(conn, <-queue) != nil {
					break
				}
			}
			bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = conn.WriteControl(websocket.CloseMessage, bye, time.Now().Add(time.Second))
			_ = conn.Close()
			return
		case <-closed:
			return
		}
	}
}

func write(conn *websocket.Conn, msg []byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return conn.WriteMessage(websocket.TextMessage, msg)
}

// errClosedByClient ends a session whose WebSocket closed.
var errClosedByClient = errors.New("websocket closed")

// signaling runs one Switchboard session per WebSocket.
type signaling struct {
	rtc interface {
		RunSessionFor(ctx context.Context, out signal.Outbox, started func(*signal.Session)) error
	}
	log *slog.Logger
}

// conn is one connection's state.
type conn struct {
	session chan *signal.Session // the running session, once started
	done    chan struct{}        // closed when the session has ended
}

type outbox func([]byte) bool

func (o outbox) Send(msg []byte) bool { return o(msg) }

func (s *signaling) OnOpen(ctx context.Context, send func([]byte) bool, hangup func()) any {
	c := &conn{session: make(chan *signal.Session, 1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		err := s.rtc.RunSessionFor(ctx, outbox(send), func(sess *signal.Session) { c.session <- sess })
		hangup() // the client left, or the session ended for it
		s.log.Debug("fiber session ended", "reason", err)
	}()
	return c
}

func (s *signaling) OnMessage(state any, msg []byte) {
	c := state.(*conn)
	select {
	case sess := <-c.session:
		c.session <- sess // keep it for the next message
		sess.Deliver(msg)
	case <-c.done: // the session ended (or never started: the server is closing)
	}
}

func (s *signaling) OnClose(state any, err error) {
	c := state.(*conn)
	select {
	case sess := <-c.session:
		sess.End(errors.Join(errClosedByClient, err))
	case <-c.done:
	}
	<-c.done
}
