// Package lonet makes paths on loopback unreachable for a test, with tc: the
// server's UDP port for one client, say, to show that it connects another way.
//
// It needs CAP_NET_ADMIN in a network namespace of its own that holds nothing but
// loopback (as root: unshare -n, as scripts/test.sh runs the tests). Elsewhere a
// test that uses it fails and says so, rather than skip: a skipped test proves
// nothing, and changing the host's own loopback would disturb everything on it.
//
// The kernel this project tests on has htb and pfifo queues and u32 filters, but
// no "drop" action (act_gact) and no prio queue: packets are dropped by steering
// them into a class whose queue holds none (pfifo limit 0).
package lonet

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Rule names packets to drop: those of Proto ("udp" or "tcp") to or from Port, and,
// when From is valid, only those between Port and the addresses of From (an IPv4
// prefix: the other direction is matched by destination). Without From, both
// address families are dropped.
type Rule struct {
	Proto string
	Port  int
	From  netip.Prefix
}

var (
	mu       sync.Mutex
	users    int    // tests holding filters; the queues go with the last
	nextPref = 1000 // of the next filter, so that each can be deleted alone
)

// Drop drops the packets of rules on loopback until the test ends.
func Drop(t testing.TB, rules ...Rule) {
	t.Helper()
	if err := private(); err != nil {
		t.Fatalf("lonet: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if users == 0 {
		if err := setUp(); err != nil {
			t.Fatalf("lonet: %v (tc needs CAP_NET_ADMIN: run the test as root inside unshare -n, as scripts/test.sh does)", err)
		}
	}
	users++
	var prefs []int
	t.Cleanup(func() { remove(t, prefs) })
	for _, r := range rules {
		for _, f := range r.filters() {
			pref := nextPref
			nextPref++
			args := append([]string{"filter", "add", "dev", "lo", "parent", "1:", "pref", strconv.Itoa(pref)}, f...)
			if err := tc(args...); err != nil {
				t.Fatalf("lonet: %v", err)
			}
			prefs = append(prefs, pref)
		}
	}
}

// remove deletes a test's filters, and the queues after the last test.
func remove(t testing.TB, prefs []int) {
	mu.Lock()
	defer mu.Unlock()
	for _, pref := range prefs {
		if err := tc("filter", "del", "dev", "lo", "parent", "1:", "pref", strconv.Itoa(pref)); err != nil {
			t.Errorf("lonet: %v", err)
		}
	}
	if users--; users == 0 {
		if err := tc("qdisc", "del", "dev", "lo", "root"); err != nil {
			t.Errorf("lonet: %v", err)
		}
	}
}

// setUp installs the queues: class 1:1 passes everything, 1:2 nothing.
func setUp() error {
	for _, args := range [][]string{
		{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "1"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:1", "htb", "rate", "100gbit", "quantum", "60000"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:2", "htb", "rate", "100gbit", "quantum", "60000"},
		{"qdisc", "add", "dev", "lo", "parent", "1:2", "handle", "2:", "pfifo", "limit", "0"},
	} {
		if err := tc(args...); err != nil {
			return err
		}
	}
	return nil
}

// filters are the tc filter arguments (after the pref) that steer r's packets
// into the dropping class.
func (r Rule) filters() [][]string {
	proto := map[string]string{"udp": "17", "tcp": "6"}[r.Proto]
	port := strconv.Itoa(r.Port)
	var out [][]string
	steer := []string{"flowid", "1:2"}
	if r.From.IsValid() {
		from := r.From.String()
		out = append(out,
			append([]string{"protocol", "ip", "u32", "match", "ip", "protocol", proto, "0xff", "match", "ip", "dport", port, "0xffff",
				"match", "ip", "src", from}, steer...),
			append([]string{"protocol", "ip", "u32", "match", "ip", "protocol", proto, "0xff", "match", "ip", "sport", port, "0xffff",
				"match", "ip", "dst", from}, steer...))
		return out
	}
	for _, dir := range []string{"dport", "sport"} {
		out = append(out,
			append([]string{"protocol", "ip", "u32", "match", "ip", "protocol", proto, "0xff", "match", "ip", dir, port, "0xffff"}, steer...),
			append([]string{"protocol", "ipv6", "u32", "match", "ip6", "protocol", proto, "0xff", "match", "ip6", dir, port, "0xffff"}, steer...))
	}
	return out
}

// private checks that this network namespace has nothing but loopback.
func private() error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("interface %s is not loopback: this test changes loopback's traffic control, "+
				"and runs only in a network namespace of its own (as root: unshare -n sh -c 'ip link set lo up; go test ...')", iface.Name)
		}
	}
	return nil
}

func tc(args ...string) error {
	out, err := exec.Command("tc", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("tc %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
