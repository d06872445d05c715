package ratelimit

import (
	"testing"
	"time"
)

// feed sends n messages, one every interval from *now, and counts the verdicts.
func feed(l *Limiter, now *time.Time, n int, interval time.Duration) (counts [3]int) {
	for range n {
		counts[l.Take(*now)]++
		*now = now.Add(interval)
	}
	return counts
}

func TestBurstThenRate(t *testing.T) {
	l := New(20, 50)
	now := time.Unix(0, 0)
	if got := feed(l, &now, 50, 0); got != [3]int{50, 0, 0} {
		t.Fatalf("a burst of 50: %v, want all allowed", got)
	}
	if got := feed(l, &now, 1, 0); got != [3]int{0, 1, 0} {
		t.Fatalf("the 51st at once: %v, want refused", got)
	}
	// At the rate, after the bucket has refilled a little, everything passes.
	now = now.Add(time.Second)
	if got := feed(l, &now, 200, 50*time.Millisecond); got[Allow] != 200 {
		t.Fatalf("at 20/s: %v, want all allowed", got)
	}
}

func TestSlightlyOverIsRefusedNotCut(t *testing.T) {
	l := New(20, 50)
	now := time.Unix(0, 0)
	// 30 per second for a minute: a third refused, never cut.
	got := feed(l, &now, 1800, time.Second/30)
	if got[Cut] != 0 || got[Refuse] == 0 {
		t.Fatalf("at 1.5 times the rate: %v, want some refused and none cut", got)
	}
}

func TestFloodIsCut(t *testing.T) {
	l := New(20, 50)
	now := time.Unix(0, 0)
	got := feed(l, &now, 101, 0)
	if got != [3]int{50, 50, 1} {
		t.Fatalf("101 at once: %v, want 50 allowed, 50 refused, then cut", got)
	}
	// Far over the rate for a while: cut, whatever the bursts were.
	l = New(20, 50)
	now = time.Unix(0, 0)
	got = feed(l, &now, 1000, time.Millisecond) // 1000/s for a second
	if got[Cut] == 0 {
		t.Fatalf("at 50 times the rate: %v, want cut", got)
	}
}

func TestUnlimited(t *testing.T) {
	l := New(0, 0)
	now := time.Unix(0, 0)
	if got := feed(l, &now, 10000, 0); got[Allow] != 10000 {
		t.Fatalf("no limit: %v", got)
	}
}
