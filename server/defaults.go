package server

import (
	"time"

	"github.com/switchboard-rtc/switchboard/auto"
	"github.com/switchboard-rtc/switchboard/internal/keepalive"
	"github.com/switchboard-rtc/switchboard/internal/peraddr"
	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/signal"
	"github.com/switchboard-rtc/switchboard/signal/sse"
	"github.com/switchboard-rtc/switchboard/wire"
)

// The defaults of Limits, Liveness, MeshMaxSize and AutoRooms: what a zero field means. Each is
// defined once, by the package that enforces it; the binary's flags show these.
const (
	DefaultMaxMessageSize    = wire.MaxMessageSize
	DefaultMessagesPerSecond = signal.DefaultMessagesPerSecond
	DefaultMessageBurst      = signal.DefaultMessageBurst
	DefaultMaxRooms          = sfu.DefaultMaxRooms
	DefaultMaxParticipants   = sfu.DefaultMaxParticipants
	DefaultMaxTracks         = sfu.DefaultMaxTracks
	DefaultMaxViewers        = sfu.DefaultMaxViewers
	DefaultMaxAudioForward   = sfu.DefaultMaxAudioForward
	DefaultMaxPendingSSE     = sse.DefaultMaxDetached
	DefaultMeshMaxSize       = mesh.DefaultMaxSize

	DefaultMeshPromoteAt     = auto.DefaultPromoteAt
	DefaultMeshDemoteAt      = auto.DefaultDemoteAt
	DefaultMeshDemoteAfter   = auto.DefaultDemoteAfter
	DefaultMeshSwitchTimeout = auto.DefaultSwitchTimeout

	DefaultSessionsPerAddress   = peraddr.DefaultMaxSessions
	DefaultNewSessionsPerSecond = peraddr.DefaultRate
	DefaultNewSessionBurst      = peraddr.DefaultBurst

	DefaultJoinTimeout            = signal.DefaultJoinTimeout
	DefaultPingInterval           = keepalive.DefaultInterval
	DefaultPongTimeout            = keepalive.DefaultTimeout
	DefaultICEDisconnectedTimeout = sfu.DefaultICEDisconnectedTimeout
	DefaultICEFailedTimeout       = sfu.DefaultICEFailedTimeout
	DefaultICERestartGrace        = sfu.DefaultICERestartGrace
)

// The ports of the binary's ICE-TCP candidates (sfu.Config.ICETCPPort: one that
// firewalls that let HTTPS out often let out too) and TURN server (the IANA ports of
// TURN and TURN over TLS), and how long TURN credentials last (TURNConfig): a
// working day of calls.
const (
	DefaultICETCPPort        = 8443
	DefaultTURNPort          = 3478
	DefaultTURNTLSPort       = 5349
	DefaultTURNCredentialTTL = 12 * time.Hour
)
