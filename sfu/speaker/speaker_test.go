package speaker

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func sorted(ids []string) string {
	slices.Sort(ids)
	return fmt.Sprint(ids)
}

const tick = 200 * time.Millisecond

// feeder drives a Detector tick by tick with fixed loudness per participant.
type feeder struct {
	d   *Detector[string]
	now time.Time
}

func newFeeder() *feeder {
	return &feeder{d: New[string](Config{}), now: time.Unix(1000, 0)}
}

// run runs n ticks with levels and returns the last report made, if any.
func (f *feeder) run(n int, levels map[string]float64) (last []string, reported bool) {
	for range n {
		for id, l := range levels {
			f.d.Observe(id, l)
		}
		f.now = f.now.Add(tick)
		if r, ok := f.d.Tick(f.now); ok {
			last, reported = r, true
		}
	}
	return last, reported
}

func TestLoudness(t *testing.T) {
	if Loudness(0) != 127 || Loudness(127) != 0 || Loudness(200) != 0 {
		t.Fatalf("Loudness(0, 127, 200) = %v, %v, %v", Loudness(0), Loudness(127), Loudness(200))
	}
}

// TestSpeakerIsDetectedAndRanked: a participant speaking above the start threshold
// is reported within two ticks; two speakers are ranked loudest first; the silent
// one is never reported.
func TestSpeakerIsDetectedAndRanked(t *testing.T) {
	f := newFeeder()
	got, ok := f.run(2, map[string]float64{"alice": Loudness(20), "bob": Loudness(120)})
	if !ok || fmt.Sprint(got) != "[alice]" {
		t.Fatalf("after two ticks of alice at -20 dBov: reported %v (%v), want [alice]", got, ok)
	}
	got, ok = f.run(5, map[string]float64{"alice": Loudness(30), "bob": Loudness(10), "carol": Loudness(127)})
	if !ok || fmt.Sprint(got) != "[bob alice]" {
		t.Fatalf("bob at -10 dBov, alice at -30: reported %v (%v), want [bob alice]", got, ok)
	}
}

// TestHysteresis: a level between the stop and start thresholds neither starts nor
// stops a speaker; a single loud tick does not start one.
func TestHysteresis(t *testing.T) {
	f := newFeeder()
	between := (f.d.cfg.Start + f.d.cfg.Stop) / 2
	if got, ok := f.run(10, map[string]float64{"alice": between}); ok {
		t.Fatalf("a level between the thresholds started a speaker: %v", got)
	}
	f.run(1, map[string]float64{"alice": Loudness(0)})
	if got, ok := f.run(1, map[string]float64{"alice": Silence}); ok && len(got) > 0 {
		t.Fatalf("one loud tick made a speaker: %v", got)
	}
	f.run(5, map[string]float64{"alice": Loudness(20)})
	if got, ok := f.run(10, map[string]float64{"alice": between}); ok {
		t.Fatalf("a speaker falling between the thresholds was reported: %v", got)
	}
	if got, ok := f.run(10, map[string]float64{"alice": Silence}); !ok || len(got) != 0 {
		t.Fatalf("after silence: reported %v (%v), want an empty list", got, ok)
	}
}

// TestFirstPlaceNeedsAMargin: someone slightly louder than the current first speaker
// does not take its place; someone clearly louder does.
func TestFirstPlaceNeedsAMargin(t *testing.T) {
	f := newFeeder()
	f.run(10, map[string]float64{"alice": Loudness(30), "bob": Loudness(40)})
	if got, _ := f.run(10, map[string]float64{"alice": Loudness(30), "bob": Loudness(27)}); got != nil {
		t.Fatalf("bob 3 dB louder than alice took the floor: %v", got)
	}
	if got, _ := f.run(10, map[string]float64{"alice": Loudness(30), "bob": Loudness(15)}); fmt.Sprint(got) != "[bob alice]" {
		t.Fatalf("bob 15 dB louder: reported %v, want [bob alice]", got)
	}
}

// TestReportsAreRateLimited: changes come at most once per interval; a change made
// inside the interval is reported by the first tick after it.
func TestReportsAreRateLimited(t *testing.T) {
	f := newFeeder()
	var reports []time.Time
	levels := []map[string]float64{{"alice": Loudness(10)}, {"bob": Loudness(10)}}
	for i := range 20 {
		l := levels[i/2%2] // the speaker changes every two ticks (400 ms)
		for id, v := range l {
			f.d.Observe(id, v)
		}
		f.now = f.now.Add(tick)
		if _, ok := f.d.Tick(f.now); ok {
			reports = append(reports, f.now)
		}
	}
	if len(reports) < 3 {
		t.Fatalf("%d reports of a speaker changing every 400 ms, want several", len(reports))
	}
	for i := 1; i < len(reports); i++ {
		if d := reports[i].Sub(reports[i-1]); d < f.d.cfg.Interval {
			t.Fatalf("reports %v apart, want at least %v", d, f.d.cfg.Interval)
		}
	}
}

// TestForgetsTheAbsent: a participant no longer observed leaves the ranking.
func TestForgetsTheAbsent(t *testing.T) {
	f := newFeeder()
	f.run(5, map[string]float64{"alice": Loudness(10), "bob": Loudness(20)})
	if got, ok := f.run(5, map[string]float64{"bob": Loudness(20)}); !ok || fmt.Sprint(got) != "[bob]" {
		t.Fatalf("after alice left: %v (%v), want [bob]", got, ok)
	}
}

// TestLoudestKeepsTheFloorAmongTheSilent: speakers first, then the most recent
// ones; the silent keep their places in Loudest's answer from tick to tick.
func TestLoudestKeepsTheFloorAmongTheSilent(t *testing.T) {
	f := newFeeder()
	quiet := map[string]float64{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
	f.run(3, quiet)
	first := sorted(f.d.Loudest(2))
	quiet["a"], quiet["e"] = 5, 1 // the noise moves; nobody speaks
	f.run(3, quiet)
	if got := sorted(f.d.Loudest(2)); got != first {
		t.Fatalf("the floor moved among the silent: %s, then %s", first, got)
	}
	quiet["c"] = Loudness(10)
	f.run(3, quiet)
	quiet["c"] = Silence
	quiet["d"] = Loudness(15)
	f.run(3, quiet)
	if got := fmt.Sprint(f.d.Loudest(2)); got != "[d c]" {
		t.Fatalf("Loudest(2) = %s, want [d c]: the speaker, then the one who spoke last", got)
	}
}
