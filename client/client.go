// Package client is a Go client of Switchboard's native protocol over WebSocket: it
// joins a room, publishes tracks on its publisher connection and receives everyone
// else's on its subscriber connection. The tests and `switchboard bench` use it; it
// also serves programs that want to send or receive media in a room. Its messages
// are package wire's: Send and Request take a wire type and body, and Events hands
// out each message from the server as an Event with typed accessors.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/wire"
)

// Options configure a client. The zero value uses Pion's default codecs and
// interceptors with loopback candidates.
type Options struct {
	// API builds the client's peer connections; nil means NewAPI().
	API *webrtc.API
	// OnTrack is called, on a goroutine of its own, for each track received.
	OnTrack func(info wire.Track, track *webrtc.TrackRemote, recv *webrtc.RTPReceiver)
	// HTTPClient makes the requests of the SSE transport and the WebSocket's
	// upgrade; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Token is a join token, sent as "Authorization: Bearer" on the request that
	// opens the connection (a WebSocket, or the SSE stream). Empty: none.
	Token string
	// Mode is the room mode Join asks for: "sfu", "mesh", or "" for the server's
	// choice. In a mesh room the client has no peer connections of its own: it
	// relays (Relay) and reads relays from Events.
	Mode string
	// ICETransportPolicy is the policy of the client's peer connections: relay
	// connects only through the TURN servers the server hands out in joined (its
	// iceServers, which the connections use either way). Zero means all.
	ICETransportPolicy webrtc.ICETransportPolicy
}

// NewAPI returns a Pion API with the default codecs and interceptors that offers
// loopback candidates: what a client on the server's machine needs.
func NewAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	var settings webrtc.SettingEngine
	settings.SetIncludeLoopbackCandidate(true)
	// TCP too (Pion's default is UDP only): a server's passive ICE-TCP candidates
	// are reached with active ones, where UDP is blocked.
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6,
		webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(settings),
		webrtc.WithInterceptorRegistry(reg)), nil
}

// Client is one participant. Its methods are safe for concurrent use.
type Client struct {
	conn transport
	opts Options
	api  *webrtc.API

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the read loop ends

	// Self is this participant; Present are the others when it joined; Mode is the
	// room's mode ("sfu" or "mesh").
	Self    wire.Participant
	Present []wire.Participant
	Mode    string

	writeMu sync.Mutex

	pub *publisher
	sub *subscriber

	events chan Event

	mu         sync.Mutex
	replies    map[string]chan Event
	nextID     int
	readErr    error
	iceServers []webrtc.ICEServer // from joined
}

// ErrClosed is returned once the connection to the server has ended.
var ErrClosed = errors.New("client: connection closed")

// Connect opens a signaling connection to url without joining: a WebSocket for a ws:
// or wss: URL (ws://host:port/ws), Server-Sent Events plus POST for an http: or https:
// URL (http://host:port/sse).
func Connect(ctx context.Context, url string, opts Options) (*Client, error) {
	api := opts.API
	if api == nil {
		var err error
		if api, err = NewAPI(); err != nil {
			return nil, err
		}
	}
	conn, err := dial(ctx, url, opts.HTTPClient, opts.Token)
	if err != nil {
		return nil, err
	}
	c := &Client{
		conn: conn, opts: opts, api: api, done: make(chan struct{}),
		events: make(chan Event, 4096), replies: map[string]chan Event{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.pub = &publisher{c: c}
	c.sub = &subscriber{c: c}
	go c.readLoop()
	return c, nil
}

// Join connects to url and joins room as name. The room also goes in url's "room"
// query parameter, unless url has one: a server with join tokens checks it against
// the token before the connection opens.
func Join(ctx context.Context, url, room, name string, opts Options) (*Client, error) {
	c, err := Connect(ctx, withRoom(url, room), opts)
	if err != nil {
		return nil, err
	}
	reply, err := c.Request(ctx, wire.TypeJoin, wire.Join{Room: room, Name: name, Mode: opts.Mode})
	if err == nil && reply.Type != wire.TypeJoined {
		err = refusedRequest(wire.TypeJoin, reply)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	joined := reply.Joined()
	c.Self, c.Present, c.Mode = joined.Participant, joined.Participants, joined.Mode
	return c, nil
}

// withRoom adds room to url's query, unless url names one or cannot be parsed.
func withRoom(url, room string) string {
	u, err := neturl.Parse(url)
	if err != nil || u.Query().Has("room") {
		return url
	}
	q := u.Query()
	q.Set("room", room)
	u.RawQuery = q.Encode()
	return u.String()
}

// Relay sends data (a JSON object) to the peer to of a mesh room, without waiting.
// The server stamps the relay with this client's id; an error about it comes among
// Events.
func (c *Client) Relay(ctx context.Context, to string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return c.Send(ctx, wire.TypeRelay, wire.Relay{To: to, Data: b})
}

// Events delivers every message that is not a reply to a request or part of
// negotiation: participants and tracks coming and going, chat, unsolicited errors.
// It holds 4096 messages; a client that does not read loses the newest.
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed when the connection to the server has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the connection ended, once Done is closed.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// Send writes one message of type typ with body (a body struct of package wire, or nil
// for none) without waiting for a reply.
func (c *Client) Send(ctx context.Context, typ string, body any) error {
	return c.send(ctx, wire.Envelope{Type: typ}, body)
}

func (c *Client) send(ctx context.Context, env wire.Envelope, body any) error {
	b, err := wire.Encode(env, body)
	if err != nil {
		return err
	}
	return c.SendRaw(ctx, b)
}

// SendRaw writes one text frame exactly as given.
func (c *Client) SendRaw(ctx context.Context, frame []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.conn.Write(ctx, frame)
}

// Request sends a message of type typ with body (as Send) and a fresh id, and waits
// for the message that answers it (a reply or an error).
func (c *Client) Request(ctx context.Context, typ string, body any) (Event, error) {
	c.mu.Lock()
	c.nextID++
	env := wire.Envelope{Type: typ, ID: fmt.Sprintf("r%d", c.nextID)}
	ch := make(chan Event, 1)
	c.replies[env.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.replies, env.ID)
		c.mu.Unlock()
	}()
	if err := c.send(ctx, env, body); err != nil {
		return Event{}, err
	}
	select {
	case reply := <-ch:
		return reply, nil
	case <-c.done:
		// The read loop hands a reply over before it ends: one that came just
		// before the connection closed (an error that ends the session) is here.
		select {
		case reply := <-ch:
			return reply, nil
		default:
		}
		return Event{}, ErrClosed
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Chat sends a chat message to the room.
func (c *Client) Chat(ctx context.Context, text string) error {
	return c.Send(ctx, wire.TypeChat, wire.ChatRequest{Text: text})
}

// Leave sends leave and waits for the server to close the connection.
func (c *Client) Leave(ctx context.Context) error {
	if err := c.Send(ctx, wire.TypeLeave, nil); err != nil {
		return err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.Close()
	return nil
}

// Close ends both peer connections and the signaling connection, without a goodbye.
func (c *Client) Close() {
	c.cancel()
	_ = c.conn.Close()
	<-c.done
	c.pub.close()
	c.sub.close()
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		b, err := c.conn.Read(c.ctx)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		m, err := decodeEvent(b)
		if err != nil {
			continue
		}
		c.dispatch(m)
	}
}

func (c *Client) dispatch(m Event) {
	if m.Type == wire.TypeJoined {
		// Before the reply is handed on: the subscriber's offer, next, needs them.
		c.setICEServers(m.Joined().ICEServers)
	}
	if m.Re != "" {
		c.mu.Lock()
		ch := c.replies[m.Re]
		c.mu.Unlock()
		if ch != nil {
			ch <- m
			return
		}
	}
	switch m.Type {
	case wire.TypeSubscribeOffer:
		c.sub.handleOffer(m.Offer())
	case wire.TypeCandidate:
		if cand := m.Candidate(); cand.Candidate != nil {
			c.side(cand.Target).addCandidate(webrtc.ICECandidateInit(*cand.Candidate))
		}
	case wire.TypePong:
	default:
		select {
		case c.events <- m:
		default:
		}
	}
}

// setICEServers keeps the servers of a joined message for the connections made next.
func (c *Client) setICEServers(servers []wire.ICEServer) {
	out := make([]webrtc.ICEServer, 0, len(servers))
	for _, s := range servers {
		cred, _ := s.Credential.(string)
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: cred})
	}
	c.mu.Lock()
	c.iceServers = out
	c.mu.Unlock()
}

// newPeerConnection makes a connection with the ICE servers of joined and the
// options' policy.
func (c *Client) newPeerConnection() (*webrtc.PeerConnection, error) {
	c.mu.Lock()
	servers := c.iceServers
	c.mu.Unlock()
	return c.api.NewPeerConnection(webrtc.Configuration{ICEServers: servers, ICETransportPolicy: c.opts.ICETransportPolicy})
}

func (c *Client) side(target string) candidateSink {
	if target == wire.TargetSubscriber {
		return c.sub
	}
	return c.pub
}

// trickle sends a local candidate for target.
func (c *Client) trickle(target string, cand *webrtc.ICECandidate) {
	if cand == nil {
		return
	}
	init := wire.ICECandidate(cand.ToJSON())
	_ = c.Send(c.ctx, wire.TypeCandidate, wire.Candidate{Target: target, Candidate: &init})
}

// maxPendingCandidates bounds the remote candidates kept until the remote description
// is set: a server sends a handful, and one that sends without end must not grow the
// client's memory.
const maxPendingCandidates = 64

// pendingCandidates holds remote candidates until the remote description is set; past
// maxPendingCandidates it drops them.
type pendingCandidates struct {
	mu      sync.Mutex
	ready   bool
	pending []webrtc.ICECandidateInit
	dropped int
}

func (p *pendingCandidates) add(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ready || pc == nil {
		if len(p.pending) >= maxPendingCandidates {
			p.dropped++
			return
		}
		p.pending = append(p.pending, c)
		return
	}
	_ = pc.AddICECandidate(c)
}

func (p *pendingCandidates) flush(pc *webrtc.PeerConnection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ready = true
	for _, c := range p.pending {
		_ = pc.AddICECandidate(c)
	}
	p.pending = nil
}

type candidateSink interface {
	addCandidate(webrtc.ICECandidateInit)
}

// WaitConnected waits until both connections that exist are connected.
func (c *Client) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if c.pub.connected() && c.sub.connected() {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("client: not connected (publisher %s, subscriber %s): %w",
				c.pub.state(), c.sub.state(), ctx.Err())
		}
	}
}

// Resumes is how many times the SSE transport reopened a dropped stream and resumed
// the session; always 0 on WebSocket.
func (c *Client) Resumes() int {
	if w, ok := c.conn.(*sseWire); ok {
		return int(w.resumed.Load())
	}
	return 0
}

// SSESession is the session id and secret of the SSE transport ("" on WebSocket):
// what tests of the transport's authorization need.
func (c *Client) SSESession() (id, secret string) {
	if w, ok := c.conn.(*sseWire); ok {
		return w.Session()
	}
	return "", ""
}

// ICEServers are the STUN/TURN servers the server handed out in joined, which the
// client's connections use.
func (c *Client) ICEServers() []webrtc.ICEServer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.iceServers)
}

// ViewTrack tells the server how the track with id is shown: its tile's size in
// device pixels, or not at all (visible false).
func (c *Client) ViewTrack(ctx context.Context, id string, width, height int, visible bool) error {
	return c.Send(ctx, wire.TypeTrackView, wire.TrackView{Track: id, Width: width, Height: height, Visible: &visible})
}
