package cluster

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestVerify: a signed header is accepted for its own method and path only, until
// it expires, and only with the secret that signed it.
func TestVerify(t *testing.T) {
	n := &Node{secret: []byte(strings.Repeat("s", 32))}
	other := &Node{secret: []byte(strings.Repeat("o", 32))}
	fresh := Forwarded{Room: "r", From: "a", Expires: time.Now().Add(time.Minute).UnixMilli()}
	sign := func(signer *Node, method, path string, f Forwarded) string {
		h, err := signer.sign(method, path, f)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	good := sign(n, "GET", "/ws", fresh)
	tampered := strings.Replace(good, ".", ".e30", 1)
	cases := []struct {
		name, method, path, header string
		want                       error
	}{
		{"signed", "GET", "/ws", good, nil},
		{"another path", "GET", "/sse", good, ErrBadForward},
		{"another method", "POST", "/ws", good, ErrBadForward},
		{"another secret", "GET", "/ws", sign(other, "GET", "/ws", fresh), ErrBadForward},
		{"tampered payload", "GET", "/ws", tampered, ErrBadForward},
		{"expired", "GET", "/ws", sign(n, "GET", "/ws", Forwarded{Room: "r", Expires: time.Now().Add(-time.Second).UnixMilli()}), ErrBadForward},
		{"not v1", "GET", "/ws", "v2" + strings.TrimPrefix(good, "v1"), ErrBadForward},
		{"garbage", "GET", "/ws", "v1.!!.!!", ErrBadForward},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.path+"?room=r", nil)
		r.Header.Set(ForwardHeader, c.header)
		f, ok, err := n.Verify(r)
		if !ok {
			t.Errorf("%s: the header was not seen", c.name)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if c.want == nil && (f.Room != "r" || f.From != "a") {
			t.Errorf("%s: verified %+v", c.name, f)
		}
	}
	if _, ok, err := n.Verify(httptest.NewRequest("GET", "/ws", nil)); ok || err != nil {
		t.Errorf("no header: ok %v, err %v", ok, err)
	}
}

// TestChoose: the least loaded node gets a new room, rooms placed since a node's
// report count as its load, and a draining node gets none.
func TestChoose(t *testing.T) {
	n := &Node{id: "a", members: map[NodeID]Member{}, placed: map[NodeID][]time.Time{}, pending: map[string]time.Time{},
		owners: map[string]known{}}
	now := time.Now().UnixMilli()
	n.members["b"] = Member{ID: "b", URL: "http://b", Seen: now, Load: Load{Participants: 10}}
	n.members["c"] = Member{ID: "c", URL: "http://c", Seen: now, Load: Load{Participants: 11}}
	n.members["d"] = Member{ID: "d", URL: "http://d", Seen: now, Draining: true}
	var order []NodeID
	for i := range 12 {
		m := n.choose()
		if m.ID == n.id {
			n.Hold(fmt.Sprint("room-", i)) // as Locate does for a room placed here
		}
		order = append(order, m.ID)
	}
	// a (this node, idle) takes the first five (its held rooms weigh 2 each), then
	// the three share by load.
	if fmt.Sprint(order[:5]) != "[a a a a a]" || slices.Contains(order, "d") ||
		!slices.Contains(order, "b") || !slices.Contains(order, "c") {
		t.Errorf("placed on %v: want a five times first, then b and c among a; never d", order)
	}
}
