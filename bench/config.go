package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Shapes of load.
const (
	// ShapeFanout is one publisher and N subscribers in one room.
	ShapeFanout = "fanout"
	// ShapeRooms is R rooms of P participants, each publishing and receiving all the
	// others.
	ShapeRooms = "rooms"
)

// Protocols the peers speak.
const (
	ProtocolNative = "native" // Switchboard's WebSocket signaling
	ProtocolWHIP   = "whip"   // WHIP to publish, WHEP to watch: any such server
)

// Config describes one run. Zero values are replaced by the defaults of Defaults.
type Config struct {
	// Target is the server's base URL, e.g. http://127.0.0.1:8080.
	Target   string
	Protocol string
	Shape    string
	// Subscribers is N of the fanout shape.
	Subscribers int
	// Rooms and Participants are R and P of the rooms shape.
	Rooms, Participants int
	// Bitrate is each publisher's video bitrate in bits per second; audio adds
	// AudioBitrate.
	Bitrate, AudioBitrate int
	// Duration is how long media is measured once every peer has connected.
	Duration time.Duration
	// ConnectTimeout bounds connecting all peers.
	ConnectTimeout time.Duration
	// WHIPPath and WHEPPath are the endpoints' paths with {room} standing for the
	// room name (protocol whip).
	WHIPPath, WHEPPath string
	// ServerPID is the server's process id for CPU and memory figures; 0 skips them.
	ServerPID int
	// AllowRemote permits a target that is not a loopback address.
	AllowRemote bool
	// Room names the room of the fanout shape, and prefixes the rooms of the other.
	Room string
	// Simulcast has native publishers send their video as three simulcast layers:
	// f at Bitrate, so that a subscriber of the top layer gets what it gets
	// without simulcast, and h and q at a half and a sixth of it in addition.
	Simulcast bool
	// TWCC has the receiving peers send transport-wide congestion control feedback,
	// as browsers do, so that the server estimates each one's bandwidth.
	TWCC bool
}

// withDefaults fills in zero fields.
func (c Config) withDefaults() Config {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set(&c.Subscribers, 10)
	set(&c.Rooms, 10)
	set(&c.Participants, 4)
	set(&c.Bitrate, 1_000_000)
	set(&c.AudioBitrate, 32_000)
	if c.Protocol == "" {
		c.Protocol = ProtocolNative
	}
	if c.Shape == "" {
		c.Shape = ShapeFanout
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.WHIPPath == "" {
		c.WHIPPath = "/whip/{room}"
	}
	if c.WHEPPath == "" {
		c.WHEPPath = "/whep/{room}"
	}
	if c.Room == "" {
		c.Room = "bench"
	}
	return c
}

// maxPeers bounds the peers of one run: each is a peer connection with its own
// sockets and goroutines in this process.
const maxPeers = 1000

// check reports what is wrong with c, the target's address included.
func (c Config) check() error {
	switch {
	case c.Protocol != ProtocolNative && c.Protocol != ProtocolWHIP:
		return fmt.Errorf("protocol %q: want native or whip", c.Protocol)
	case c.Shape != ShapeFanout && c.Shape != ShapeRooms:
		return fmt.Errorf("shape %q: want fanout or rooms", c.Shape)
	case c.Shape == ShapeRooms && c.Protocol == ProtocolWHIP:
		return errors.New("the rooms shape needs the native protocol: a WHEP viewer watches one publisher")
	case c.Subscribers < 1 || c.Rooms < 1 || c.Participants < 2:
		return errors.New("want at least 1 subscriber, 1 room and 2 participants per room")
	case c.peers() > maxPeers:
		return fmt.Errorf("%d peers: at most %d", c.peers(), maxPeers)
	case c.Bitrate < 10_000 || c.Bitrate > 50_000_000:
		return fmt.Errorf("bitrate %d: want 10 kbit/s to 50 Mbit/s", c.Bitrate)
	case c.Duration <= 0 || c.Duration > time.Hour:
		return fmt.Errorf("duration %v: want up to an hour", c.Duration)
	}
	return checkTarget(c.Target, c.AllowRemote)
}

func (c Config) peers() int {
	if c.Shape == ShapeRooms {
		return c.Rooms * c.Participants
	}
	return 1 + c.Subscribers
}

// checkTarget refuses a target that resolves to anything but loopback, unless
// allowRemote: a load test pointed at someone else's server by mistake is an attack.
func checkTarget(target string, allowRemote bool) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q: want a URL like http://127.0.0.1:8080", target)
	}
	if allowRemote {
		return nil
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil {
		return fmt.Errorf("target %q: %w", target, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("target %q is not a loopback address (%v): pass --allow-remote to load a remote server", target, ip)
		}
	}
	return nil
}
