// Package fuzzconn serves an http.Handler over in-memory connections, so that fuzz
// targets can write arbitrary bytes to a transport's socket without any network: one
// request per connection, its raw bytes chosen by the caller.
package fuzzconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves one handler over in-memory connections. A panic in the handler is
// caught and reported by Exchange, not swallowed as net/http would.
type Server struct {
	ln  *pipeListener
	hs  *http.Server
	mu  sync.Mutex
	out map[string]chan any // by the connection's remote address: the handler's result
	seq int
}

// New serves h. Close it when done.
func New(h http.Handler) *Server {
	s := &Server{ln: newPipeListener(), out: map[string]chan any{}}
	s.hs = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		done := s.out[r.RemoteAddr]
		s.mu.Unlock()
		defer func() { done <- recover() }()
		h.ServeHTTP(w, r)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = s.hs.Serve(s.ln) }()
	return s
}

// Close stops serving.
func (s *Server) Close() { _ = s.hs.Close() }

// Exchange opens a connection, writes raw to it (a request and whatever follows) and
// ends its sending side, as a client that shuts down its half of a TCP connection:
// the server reads all of raw, then end of file. Exchange reads what the server sends
// until it closes the connection, and waits for the handler to return. It returns
// what was read, and an error when the handler panicked or the exchange took longer
// than wait.
func (s *Server) Exchange(raw []byte, wait time.Duration) ([]byte, error) {
	s.mu.Lock()
	s.seq++
	addr := fmt.Sprintf("pipe-%d", s.seq)
	done := make(chan any, 1)
	s.out[addr] = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.out, addr)
		s.mu.Unlock()
	}()
	// Two pipes, one per direction, so that the client can end its sending side and
	// still read.
	upClient, upServer := net.Pipe()
	downServer, downClient := net.Pipe()
	s.ln.conns <- &halfConn{up: upServer, down: downServer, addr: addr}
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(downClient, 4<<20))
		read <- b
		_, _ = io.Copy(io.Discard, downClient)
	}()
	deadline := time.Now().Add(wait)
	_ = upClient.SetWriteDeadline(deadline)
	_, _ = upClient.Write(raw)
	_ = upClient.Close()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	defer downClient.Close()
	var got []byte
	select {
	case got = <-read:
	case <-timer.C:
		return nil, errors.New("the server kept the connection open after the client's end of file")
	}
	select {
	case p := <-done:
		if p != nil {
			return got, fmt.Errorf("handler panicked: %v", p)
		}
		return got, nil
	case <-timer.C:
		return got, errors.New("handler did not return after its connection closed")
	}
}

// Upgrade is a WebSocket upgrade request for path, from origin when not empty.
func Upgrade(path, origin string) []byte {
	req := "GET " + path + " HTTP/1.1\r\nHost: switchboard.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	if origin != "" {
		req += "Origin: " + origin + "\r\n"
	}
	return []byte(req + "\r\n")
}

// Frame is a client's WebSocket frame (masked, as a client must) with the given
// opcode and payload. The mask is zero, so that the payload appears as is and a
// fuzzer mutating it mutates the message.
func Frame(opcode byte, payload []byte) []byte {
	b := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, payload...)
}

// Text is a text frame carrying msg.
func Text(msg string) []byte { return Frame(1, []byte(msg)) }

// Close is a close frame with status 1000.
func Close() []byte { return Frame(8, []byte{0x03, 0xe8}) }

type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr("pipe") }

// halfConn is the server's end of a connection made of two pipes: it reads from one
// and writes to the other, and names its remote end so that the handler's result
// finds its Exchange.
type halfConn struct {
	up, down net.Conn
	addr     string
}

func (c *halfConn) Read(b []byte) (int, error)  { return c.up.Read(b) }
func (c *halfConn) Write(b []byte) (int, error) { return c.down.Write(b) }
func (c *halfConn) Close() error {
	return errors.Join(c.up.Close(), c.down.Close())
}
func (c *halfConn) LocalAddr() net.Addr  { return pipeAddr("pipe") }
func (c *halfConn) RemoteAddr() net.Addr { return pipeAddr(c.addr) }
func (c *halfConn) SetDeadline(t time.Time) error {
	return errors.Join(c.up.SetDeadline(t), c.down.SetDeadline(t))
}
func (c *halfConn) SetReadDeadline(t time.Time) error  { return c.up.SetReadDeadline(t) }
func (c *halfConn) SetWriteDeadline(t time.Time) error { return c.down.SetWriteDeadline(t) }

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }
