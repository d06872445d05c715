package alloc

import (
	"fmt"
	"testing"
)

// sim is a camera of three layers (320x180 150k, 640x360 500k, 1280x720 1.5M)
// shown in a tile of w x h.
func sim(kind Kind, w, h int) Track {
	return Track{Kind: kind, View: View{Width: w, Height: h}, Current: Paused, Layers: []Layer{
		{Bitrate: 150_000, Width: 320, Height: 180},
		{Bitrate: 500_000, Width: 640, Height: 360},
		{Bitrate: 1_500_000, Width: 1280, Height: 720},
	}}
}

var audio = Track{Kind: Audio, Layers: []Layer{{Bitrate: 50_000}}}

func layers(ds []Decision) string {
	s := ""
	for _, d := range ds {
		switch {
		case d.Layer >= 0:
			s += fmt.Sprint(d.Layer)
		case d.Reason == Bandwidth:
			s += "b"
		case d.Reason == Hidden:
			s += "h"
		case d.Reason == Muted:
			s += "m"
		default:
			s += "?"
		}
		s += " "
	}
	return s
}

// TestAmple: an estimate is ample while a third less still gives every track what
// it would get without a limit.
func TestAmple(t *testing.T) {
	two := []Track{audio, sim(Camera, 1280, 720), sim(Camera, 1280, 720)} // 3.05 Mbit/s at the top
	for _, tc := range []struct {
		estimate uint64
		want     bool
	}{
		{Unlimited, true},
		{5_000_000, true},  // a third less, 3.33 Mbit/s, still fits both top layers
		{4_000_000, false}, // 2.67 Mbit/s would not
		{3_100_000, false}, // fits, but without room to spare
		{100_000, false},
	} {
		if got := Ample(tc.estimate, two); got != tc.want {
			t.Errorf("Ample(%d) for two cameras at 720p: %v, want %v", tc.estimate, got, tc.want)
		}
	}
	hidden := []Track{audio, sim(Camera, 1280, 720)}
	hidden[1].View.Hidden = true
	if !Ample(200_000, hidden) {
		t.Error("a hidden camera and audio on 200 kbit/s: not ample, want ample (nothing waits for more)")
	}
}

// TestAllocate: the decisions for given estimates and tiles. Each string lists the
// tracks' layers in order; b, h, m: paused for bandwidth, hidden, muted.
func TestAllocate(t *testing.T) {
	hidden := sim(Camera, 640, 360)
	hidden.View.Hidden = true
	muted := sim(Camera, 640, 360)
	muted.Muted = true
	unmeasured := Track{Kind: Camera, Layers: make([]Layer, 3), View: View{Width: 640, Height: 360}, Current: Paused}
	at := func(t Track, l int) Track { t.Current = l; return t }
	one := func(current int) Track {
		return Track{Kind: Camera, Layers: []Layer{{Bitrate: 800_000}}, Current: current}
	}
	cases := []struct {
		name     string
		estimate uint64
		tracks   []Track
		want     string
	}{
		{"unlimited, no view: the top layer", Unlimited, []Track{sim(Camera, 0, 0)}, "2 "},
		{"never more than the tile needs", Unlimited, []Track{sim(Camera, 320, 180), sim(Camera, 600, 300), sim(Camera, 1920, 1080)}, "0 1 2 "},
		{"a tile between layers gets the one that fills it", Unlimited, []Track{sim(Camera, 400, 200)}, "1 "},
		{"hidden and muted are paused", Unlimited, []Track{hidden, muted}, "h m "},
		{"audio first, even when nothing else fits", 60_000, []Track{sim(Camera, 0, 0), audio}, "b 0 "},
		{"the lowest layer for everyone before any more", 50_000 + 300_000, []Track{audio, sim(Camera, 1280, 720), sim(Camera, 1280, 720)}, "0 0 0 "},
		{"larger tiles are raised first", 50_000 + 150_000 + 1_500_000, []Track{audio, sim(Camera, 320, 180), sim(Camera, 1280, 720)}, "0 0 2 "},
		{"what is left raises the next", 2_200_000, []Track{sim(Camera, 640, 360), sim(Camera, 1280, 720)}, "1 2 "},
		{"screen share before cameras", 1_700_000, []Track{sim(Camera, 1280, 720), sim(Screen, 1280, 720)}, "0 2 "},
		{"no room even for the lowest layer", 100_000, []Track{sim(Camera, 1280, 720)}, "b "},
		{"a larger tile keeps the room when only one fits", 200_000, []Track{sim(Camera, 320, 180), sim(Camera, 1280, 720)}, "b 0 "},
		{"unmeasured layers count at nominal rates", 700_000, []Track{unmeasured}, "1 "},
		{"one layer: forwarded or paused", 1_000_000, []Track{one(Paused), one(Paused)}, "0 b "},
		{"a layer forwarded is kept a little over the estimate", 700_000, []Track{one(0)}, "0 "},
		{"...not far over it", 600_000, []Track{one(0)}, "b "},
		{"...nor started over it", 700_000, []Track{one(Paused)}, "b "},
		{"a top layer forwarded is kept a little over", 1_300_000, []Track{at(sim(Camera, 1280, 720), 2)}, "2 "},
		{"...a layer not forwarded is not raised to over it", 1_300_000, []Track{at(sim(Camera, 1280, 720), 1)}, "1 "},
		{"room for one lowest layer and the audio: one video plays", 250_000, []Track{audio, audio, at(sim(Camera, 640, 360), 0), at(sim(Camera, 1280, 720), 0)}, "0 0 b 0 "},
		{"the most important video keeps its lowest layer under it plus the audio", 200_000, []Track{audio, audio, at(sim(Camera, 640, 360), 0), at(sim(Camera, 1280, 720), 0)}, "0 0 b 0 "},
		{"...a screen share first", 150_000, []Track{audio, at(sim(Camera, 1280, 720), 0), at(sim(Screen, 640, 360), 0)}, "0 b 0 "},
		{"...down to half of it", 75_000, []Track{audio, at(sim(Camera, 1280, 720), 0)}, "0 0 "},
		{"...not further", 70_000, []Track{audio, at(sim(Camera, 1280, 720), 0)}, "0 b "},
		{"...nor when it was paused", 200_000, []Track{audio, audio, sim(Camera, 1280, 720)}, "0 0 b "},
		{"of tiles alike, the one that plays keeps playing", 250_000, []Track{audio, audio, sim(Camera, 1280, 720), at(sim(Camera, 1280, 720), 0)}, "0 0 b 0 "},
	}
	for _, c := range cases {
		if got := layers(Allocate(c.estimate, c.tracks)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestAllocateKeepsAPicture: whatever the layers forwarded now, an estimate with room
// for the lowest layer of one video and the audio never pauses every video, and the
// video that plays includes the most important one (a screen share, else the largest
// tile).
func TestAllocateKeepsAPicture(t *testing.T) {
	for _, screen := range []bool{false, true} {
		for cur := Paused; cur <= 2; cur++ {
			for estimate := uint64(2*50_000 + 150_000); estimate <= 3_500_000; estimate += 10_000 {
				first := sim(Camera, 1280, 720)
				if screen {
					first = sim(Screen, 320, 180)
				}
				tracks := []Track{audio, sim(Camera, 640, 360), audio, first, sim(Camera, 960, 540)}
				for i := range tracks {
					if tracks[i].Kind != Audio {
						tracks[i].Current = cur
					}
				}
				ds := Allocate(estimate, tracks)
				if ds[3].Layer == Paused {
					t.Fatalf("screen %v, all at %d, estimate %d: the most important video is paused: %s", screen, cur, estimate, layers(ds))
				}
			}
		}
	}
}
