package peraddr

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// clock is a settable time for a Limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAt(cfg Config) (*Limiter, *clock) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(cfg)
	l.now = c.now
	return l, c
}

func TestSessionsPerAddress(t *testing.T) {
	l, _ := newAt(Config{MaxSessions: 2})
	r1, _, err1 := l.Acquire("192.0.2.1:1000")
	_, _, err2 := l.Acquire("192.0.2.1:1001")
	if err1 != nil || err2 != nil {
		t.Fatalf("two sessions: %v, %v", err1, err2)
	}
	if _, retry, err := l.Acquire("192.0.2.1:1002"); err != ErrTooMany || retry <= 0 {
		t.Fatalf("a third: %v (retry %v), want ErrTooMany with a retry", err, retry)
	}
	if _, _, err := l.Acquire("192.0.2.2:1000"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	r1()
	r1() // a second release frees nothing more
	if _, _, err := l.Acquire("192.0.2.1:1003"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, _, err := l.Acquire("192.0.2.1:1004"); err != ErrTooMany {
		t.Fatalf("released twice counted twice: %v", err)
	}
}

func TestNewSessionsRate(t *testing.T) {
	l, c := newAt(Config{Rate: 2, Burst: 3})
	for i := range 3 {
		if _, _, err := l.Acquire("[2001:db8::1]:1"); err != nil {
			t.Fatalf("session %d of the burst: %v", i, err)
		}
	}
	// Another host of the same /64 shares the bucket.
	if _, retry, err := l.Acquire("[2001:db8::2]:1"); err != ErrTooFast || retry != 500*time.Millisecond {
		t.Fatalf("beyond the burst: %v, retry %v; want ErrTooFast after 500ms", err, retry)
	}
	if _, _, err := l.Acquire("[2001:db8:0:1::1]:1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	c.t = c.t.Add(500 * time.Millisecond)
	if _, _, err := l.Acquire("[2001:db8::3]:1"); err != nil {
		t.Fatalf("after a refill: %v", err)
	}
}

func TestNoLimits(t *testing.T) {
	l, _ := newAt(Config{MaxSessions: -1, Rate: -1, Burst: 1})
	for i := range 5000 {
		if _, _, err := l.Acquire("127.0.0.1:1"); err != nil {
			t.Fatalf("session %d without limits: %v", i, err)
		}
	}
}

// TestAddressesAreBounded: a client cycling through addresses cannot grow the table
// beyond MaxAddresses; addresses that hold nothing and have refilled are forgotten.
func TestAddressesAreBounded(t *testing.T) {
	l, c := newAt(Config{Rate: 10, Burst: 10, MaxAddresses: 100})
	var releases []func()
	for i := range 100 {
		r, _, err := l.Acquire(fmt.Sprintf("10.0.%d.%d:1", i/256, i%256))
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	if _, _, err := l.Acquire("10.1.0.1:1"); err != ErrBusy {
		t.Fatalf("address 101 while all hold sessions: %v, want ErrBusy", err)
	}
	for _, r := range releases[:50] {
		r()
	}
	if _, _, err := l.Acquire("10.1.0.1:1"); err != ErrBusy {
		t.Fatalf("before the released addresses' buckets refill: %v, want ErrBusy", err)
	}
	c.t = c.t.Add(time.Second)
	if _, _, err := l.Acquire("10.1.0.1:1"); err != nil {
		t.Fatalf("once 50 addresses are idle and refilled: %v", err)
	}
	if n := l.Addresses(); n != 51 {
		t.Errorf("%d addresses tracked, want the 50 holding sessions and the new one", n)
	}
}

func TestPrefixOf(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:80":         "192.0.2.1/32",
		"[::ffff:192.0.2.1]:1": "192.0.2.1/32",
		"[2001:db8::1]:443":    "2001:db8::/64",
		"pipe":                 "invalid Prefix",
	} {
		if got := prefixOf(in).String(); got != want {
			t.Errorf("prefixOf(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestHold(t *testing.T) {
	released := 0
	_, h := WithHold(context.Background(), func() { released++ })
	h.Done()
	if released != 1 {
		t.Fatalf("a request's slot not kept: released %d times, want 1", released)
	}
	ctx, h := WithHold(context.Background(), func() { released++ })
	keep := Keep(ctx)
	h.Done()
	if released != 1 {
		t.Fatal("a kept slot was released when its request ended")
	}
	keep()
	if released != 2 {
		t.Fatal("the keeper's release did not release")
	}
	Keep(context.Background())() // no hold: nothing to do
}

// TestDefaultsAdmitAnOffice: an office of 400 people behind one NAT address, each
// opening a signaling session and a WHEP viewer in the same second, is admitted by
// the defaults; and so is a load test that then opens 200 more sessions 5 s later.
func TestDefaultsAdmitAnOffice(t *testing.T) {
	l, c := newAt(Config{})
	for i := range 800 {
		if _, _, err := l.Acquire("203.0.113.9:4000"); err != nil {
			t.Fatalf("session %d of the office: %v", i, err)
		}
	}
	c.t = c.t.Add(5 * time.Second)
	for i := range 200 {
		if _, _, err := l.Acquire("203.0.113.9:4000"); err != nil {
			t.Fatalf("session %d of the load test: %v", i, err)
		}
	}
}
