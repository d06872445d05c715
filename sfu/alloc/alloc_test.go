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
	}
	for _, c := range cases {
		if got := layers(Allocate(c.estimate, c.tracks)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
