package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestRelayPolicy: the built-in TURN server's relays reach the media port of the
// server's own addresses and public addresses, nothing else.
func TestRelayPolicy(t *testing.T) {
	allow := relayPolicy([]netip.Addr{netip.MustParseAddr("10.0.0.5")}, func(p uint16) bool { return p == 7882 })
	for ap, want := range map[string]bool{
		"10.0.0.5:7882": true, "10.0.0.5:0": true, "10.0.0.5:22": false, "10.0.0.6:7882": false,
		"127.0.0.1:7882": false, "8.8.8.8:53": true, "[2001:4860::8888]:443": true, "192.168.1.1:80": false,
	} {
		if got := allow(netip.MustParseAddrPort(ap)); got != want {
			t.Errorf("relay to %s: %v, want %v", ap, got, want)
		}
	}
}

// TestICEServersFor: with a shared secret, TURN servers without a username get
// credentials of each client's own; STUN servers and TURN servers with static
// credentials are handed out as they are.
func TestICEServersFor(t *testing.T) {
	stun := webrtc.ICEServer{URLs: []string{"stun:s.example"}}
	static := webrtc.ICEServer{URLs: []string{"turn:a.example"}, Username: "u", Credential: "p"}
	shared := webrtc.ICEServer{URLs: []string{"turn:b.example"}}
	ice := newICEServers(Config{ClientICEServers: []webrtc.ICEServer{stun, static, shared}, ClientICESecret: "s"}, nil)
	ice.now = func() time.Time { return time.Unix(1000, 0) }
	got := ice.For("ada")
	if len(got) != 3 || got[0].Username != "" || got[1].Username != "u" || got[2].Username != "44200:ada" || got[2].Credential == "" {
		t.Errorf("For(ada) = %+v", got)
	}
	if again := ice.For("bo"); again[2].Username != "44200:bo" || again[2].Credential == got[2].Credential {
		t.Errorf("For(bo) = %+v", again)
	}
}
