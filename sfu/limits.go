package sfu

import "time"

// Defaults of Limits and Liveness.
const (
	DefaultMaxRooms        = 1000
	DefaultMaxParticipants = 200
	DefaultMaxTracks       = 8
	// DefaultMaxViewers is generous: a viewer costs about what a subscriber does.
	DefaultMaxViewers = 1000
	// DefaultMaxAudioForward is how many microphones are forwarded in a large room:
	// three people talking at once is already more than anyone can follow.
	DefaultMaxAudioForward = 3
	// AudioForwardAllUpTo is the size of room, in participants, up to which every
	// audio track is forwarded whatever Limits.MaxAudioForward says: in a small room
	// the cost is small and the first syllable of someone starting to talk is never
	// lost to the speaker detection's delay.
	AudioForwardAllUpTo = 10

	// A connection whose client has sent nothing (media, RTCP, ICE checks) for
	// DefaultICEDisconnectedTimeout is disconnected, and after
	// DefaultICEFailedTimeout more it has failed: its participant is removed about
	// 9 s after its network vanished. The keepalive makes a client with nothing to
	// send still heard more than twice within the first timeout.
	DefaultICEDisconnectedTimeout = 4 * time.Second
	DefaultICEFailedTimeout       = 5 * time.Second
	DefaultICEKeepalive           = time.Second
	// DefaultICERestartGrace is how long a failed connection waits for its client to
	// restart ICE: a client that moved to another network first has to get its
	// signaling back (within the session's grace period of 15 s), then restart. The
	// participant of a client that never does is removed about 19 s after its
	// network vanished.
	DefaultICERestartGrace = 10 * time.Second
)

// Limits bound what the rooms of one server hold. The zero value of each field means
// its default; a negative value means no limit.
type Limits struct {
	// MaxRooms bounds the rooms of the server; a join that would create one more is
	// refused with ErrTooManyRooms. WHEP viewers create no room.
	MaxRooms int
	// MaxParticipants bounds the places of one room: each participant (WHIP
	// publishers and sfu-ws clients included) and each WHEP viewer takes one. A join
	// or a Watch beyond it is refused with ErrRoomFull.
	MaxParticipants int
	// MaxTracks bounds the tracks one participant publishes at a time: an offer that
	// sends on more m-lines is refused with ErrTooManyTracks.
	MaxTracks int
	// MaxViewers bounds the WHEP viewers of the whole server: Watch beyond it is
	// refused with ErrTooManyViewers.
	MaxViewers int
	// MaxAudioForward bounds the audio tracks forwarded in a room of more than
	// AudioForwardAllUpTo participants: those of the loudest speakers (speaker.go);
	// the others are paused, and resume with their numbering continuous.
	MaxAudioForward int
}

func (l Limits) withDefaults() Limits {
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	set(&l.MaxRooms, DefaultMaxRooms)
	set(&l.MaxParticipants, DefaultMaxParticipants)
	set(&l.MaxTracks, DefaultMaxTracks)
	set(&l.MaxViewers, DefaultMaxViewers)
	set(&l.MaxAudioForward, DefaultMaxAudioForward)
	return l
}

// exceeds reports whether n is over limit; a negative limit is none.
func exceeds(n, limit int) bool { return limit >= 0 && n > limit }

// Liveness sets how the server's connections notice a client that vanished without
// a word (network lost, laptop closed). The zero value of each field means its
// default.
type Liveness struct {
	// ICEDisconnectedTimeout is how long a connection hears nothing before it is
	// disconnected.
	ICEDisconnectedTimeout time.Duration
	// ICEFailedTimeout is how much longer it hears nothing before it has failed.
	ICEFailedTimeout time.Duration
	// ICERestartGrace is how long a failed connection waits for an ICE restart before
	// its participant is removed. A restart that starts in time (a new offer with new
	// ICE credentials, or a subscribe-offer made for one) takes the connection back
	// to connecting; if that fails too, the grace starts again.
	ICERestartGrace time.Duration
	// ICEKeepalive is the interval of the connectivity checks sent on an idle
	// connection.
	ICEKeepalive time.Duration
}

func (l Liveness) withDefaults() Liveness {
	if l.ICEDisconnectedTimeout <= 0 {
		l.ICEDisconnectedTimeout = DefaultICEDisconnectedTimeout
	}
	if l.ICEFailedTimeout <= 0 {
		l.ICEFailedTimeout = DefaultICEFailedTimeout
	}
	if l.ICEKeepalive <= 0 {
		l.ICEKeepalive = DefaultICEKeepalive
	}
	if l.ICERestartGrace <= 0 {
		l.ICERestartGrace = DefaultICERestartGrace
	}
	return l
}
