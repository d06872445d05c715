package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// ForwardHeader carries, on a request one node forwards to another, what the
// forwarding node vouches for (Forwarded), signed with the cluster secret:
// "v1.<payload>.<mac>", both base64url, the MAC an HMAC-SHA256 over the method,
// the path and the payload. A node trusts the admission a signed request went
// through and does not repeat it.
const ForwardHeader = "Switchboard-Forwarded"

// forwardTTL bounds how long a signed request may be replayed: it is sent at once,
// so this only has to cover the clocks of two nodes disagreeing a little.
const forwardTTL = 30 * time.Second

// Forwarded is what a node vouches for on a request it forwards.
type Forwarded struct {
	// Room is the room the request is for.
	Room string `json:"room"`
	// From is the forwarding node.
	From NodeID `json:"from"`
	// Access is what admission allowed the request (the server's encoding); the
	// cluster does not read it.
	Access json.RawMessage `json:"access,omitempty"`
	// Expires is when the signature stops being valid, in Unix milliseconds.
	Expires int64 `json:"exp"`
}

// ErrBadForward refuses a request whose ForwardHeader is not valid.
var ErrBadForward = errors.New("cluster: forwarded request with an invalid signature")

// sign is the ForwardHeader value of f for a request of method on path.
func (n *Node) sign(method, path string, f Forwarded) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return "v1." + payload + "." + base64.RawURLEncoding.EncodeToString(n.mac(method, path, payload)), nil
}

func (n *Node) mac(method, path, payload string) []byte {
	m := hmac.New(sha256.New, n.secret)
	m.Write([]byte("switchboard-forward\n" + method + "\n" + path + "\n" + payload))
	return m.Sum(nil)
}

// Verify checks the ForwardHeader of r: ok is false when r carries none, err is
// ErrBadForward (wrapped) when it carries one that is forged, altered, meant for
// another request or expired.
func (n *Node) Verify(r *http.Request) (f Forwarded, ok bool, err error) {
	h := r.Header.Get(ForwardHeader)
	if h == "" {
		return f, false, nil
	}
	parts := strings.Split(h, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return f, true, ErrBadForward
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, n.mac(r.Method, r.URL.Path, parts[1])) {
		return f, true, ErrBadForward
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(b, &f) != nil {
		return f, true, ErrBadForward
	}
	if time.Now().UnixMilli() > f.Expires {
		return f, true, errors.Join(ErrBadForward, errors.New("cluster: forwarded request expired"))
	}
	return f, true, nil
}

// Forward carries r to member to, signed as vouching for access (the server's
// encoding of what admission allowed), and copies the answer back: WebSocket
// upgrades and Server-Sent Events included (flushed as they come). A Location in
// the answer gets room in its query, so that requests on the resource it names
// (WHIP and WHEP sessions) find the room's owner again. onError answers when to
// cannot be reached.
func (n *Node) Forward(w http.ResponseWriter, r *http.Request, to Member, room string, access json.RawMessage,
	onError func(http.ResponseWriter, *http.Request, error)) {
	target, err := url.Parse(to.URL)
	if err != nil {
		onError(w, r, err)
		return
	}
	sig, err := n.sign(r.Method, r.URL.Path, Forwarded{Room: room, From: n.id, Access: access,
		Expires: time.Now().Add(forwardTTL).UnixMilli()})
	if err != nil {
		onError(w, r, err)
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			pr.Out.Header.Set(ForwardHeader, sig)
		},
		Transport:     n.transport,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if loc := resp.Header.Get("Location"); loc != "" {
				resp.Header.Set("Location", withRoom(loc, room))
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			n.noteRefused(to.ID, err)
			onError(w, r, err)
		},
	}
	p.ServeHTTP(w, r)
}

// noteRefused remembers that member id could not be dialled: its process is likely
// gone, though its registration has not expired yet. Until it expires, no new room
// is placed there (choose); rooms it holds are not taken from it on this alone.
func (n *Node) noteRefused(id NodeID, err error) {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return
	}
	n.mu.Lock()
	n.refused[id] = time.Now()
	n.mu.Unlock()
}

// withRoom adds room to the query of the URL loc.
func withRoom(loc, room string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	q := u.Query()
	q.Set("room", room)
	u.RawQuery = q.Encode()
	return u.String()
}

// newTransport is the client of forwarded requests: bounded dials (a dead owner
// refuses at once; a busy one may take a few seconds), no proxy from the
// environment, and connections kept for the next request.
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   3 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
	}
}
