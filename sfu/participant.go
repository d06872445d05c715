package sfu

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// Participant is one client in one room: its identity, its Publisher (what it sends)
// and its Subscriber (what it receives). It is created by Rooms.Join and lives until
// Leave.
type Participant struct {
	id        ParticipantID
	identity  string
	name      string
	grants    *Grants // nil: everything allowed
	transport string
	room      *Room
	obs       Observers
	log       *slog.Logger

	pub *Publisher
	sub *Subscriber

	first firstMedia // when it joined, and whether media has reached it since

	leaveOnce sync.Once
	left      func() // JoinOptions.Left
}

// SetMuted records that the participant muted (true) or unmuted its source src, as
// its client says: the tracks of src it publishes, now and later, carry
// TrackInfo.SelfMuted, and everyone in the room is told of each change through
// TrackObserver.TrackMuted. Forwarding goes on: a muted source sends silence or black
// frames. It fails with ErrNoRoom once the room is gone.
func (p *Participant) SetMuted(src Source, muted bool) error {
	return p.room.setSelfMuted(p, src, muted)
}

// ID is the participant's server-assigned id.
func (p *Participant) ID() ParticipantID { return p.id }

// Transport is the signaling that carries the participant (JoinOptions.Transport).
func (p *Participant) Transport() string { return p.transport }

// Identity is who the participant is, from its join token; empty without one.
func (p *Participant) Identity() string { return p.identity }

// Name is the display name the participant joined with.
func (p *Participant) Name() string { return p.name }

// RoomID names the participant's room.
func (p *Participant) RoomID() RoomID { return p.room.id }

// JoinOptions change how a participant connects. The zero value is the native
// protocol's: two connections, the client offering on its publisher.
type JoinOptions struct {
	// SingleConnection gives the participant one peer connection, on which the server
	// offers, receives one audio and one video track from the client and sends
	// everyone else's: the model of Pion's sfu-ws example. The Subscriber then owns
	// the connection (negotiation, candidates, state); the Publisher only publishes
	// what arrives on it.
	SingleConnection bool
	// Identity is who joins, from a join token. A participant joining with the
	// identity of one already in the room replaces it: the earlier one is removed
	// (RoomObserver.Removed with ErrReplaced). Empty: no identity, nobody is replaced.
	Identity string
	// Grants limit what the participant may do; nil allows everything.
	Grants *Grants
	// Transport names the signaling that carries the participant: "websocket" or
	// "sse" (the native protocol), "sfu-ws", "whip". Its log lines, its Stats,
	// RoomEvents and metrics (Rooms.Census) report it; empty: not named (the native
	// protocol on a transport of the embedder's, Server.RunSession), "other" in metrics.
	Transport string
	// LogAttrs (slog key-value pairs) go on every log line of the participant, its
	// connections and its tracks, besides its room, id and transport: the request id
	// that opened its session, say.
	LogAttrs []any
	// ID, when set, is the participant's id instead of a new one: the id it has in
	// the other mode of an auto room (package auto, the only user). The caller
	// guarantees it is not in use in the room.
	ID ParticipantID
	// Left, when set, is called once the participant has left (Leave or
	// LeaveQuietly), from the goroutine that called it: where package auto gives up
	// the participant's seat in its auto room.
	Left func()
}

// Grants limit what a participant may do: publish (which sources), and receive the
// others' media.
type Grants struct {
	Publish bool
	// Sources limits Publish to these sources; empty allows every source.
	Sources   []Source
	Subscribe bool
}

// maySend reports whether src may be published under g (nil allows everything).
func (g *Grants) maySend(src Source) bool {
	if g == nil {
		return true
	}
	return g.Publish && (len(g.Sources) == 0 || slices.Contains(g.Sources, src))
}

// MaySend reports whether src may be published under g (nil allows everything).
func (g *Grants) MaySend(src Source) bool { return g.maySend(src) }

// maySubscribe reports whether g lets the participant receive others' media.
func (g *Grants) maySubscribe() bool { return g == nil || g.Subscribe }

// MaySubscribe reports whether g allows receiving others' media; nil allows it.
func (g *Grants) MaySubscribe() bool { return g.maySubscribe() }

// Publisher is the connection that receives the participant's media.
func (p *Participant) Publisher() *Publisher { return p.pub }

// Subscriber is the connection that sends the participant everyone else's media.
func (p *Participant) Subscriber() *Subscriber { return p.sub }

// Chat sends text to everyone in the room, the participant included, stamped with
// its id, name and the current time.
func (p *Participant) Chat(text string) {
	msg := roster.NewChat(p.id, p.name, text)
	p.room.ops.post(func() { p.room.members.Chat(msg) })
}

// contact is how the room's member list reaches p's owner.
func (p *Participant) contact() roster.Contact[ParticipantInfo] {
	return roster.Contact[ParticipantInfo]{Events: p.obs.Room, Fail: p.obs.Connection.Failed, Log: p.log}
}

// Leave removes the participant from its room (everyone else is told and their
// subscriber connections drop its tracks) and closes both of its connections. It
// waits for the participant's goroutines to end. Safe to call more than once and from
// any goroutine but the room's.
func (p *Participant) Leave() { p.leave(false) }

// LeaveQuietly is Leave without telling the others that the participant left: it
// goes on, under its id, in the other mode of its auto room. They are told that its
// tracks went away, and their subscriber connections drop them.
func (p *Participant) LeaveQuietly() { p.leave(true) }

func (p *Participant) leave(quietly bool) {
	p.leaveOnce.Do(func() {
		p.room.ops.post(func() { p.room.leaveOp(p, quietly) })
		p.room.rooms.releaseParticipant(p.room)
		// The subscriber's queue stops first: with one connection for both sides
		// (sfu-ws), an operation still adding a track while the publisher side closes
		// that connection could add a sender after Close stopped the others, and its
		// RTCP reader would never end.
		p.sub.close()
		p.pub.close()
		p.log.Info("participant left", "quietly", quietly)
		if p.left != nil {
			p.left()
		}
	})
}

// engine is the engine that made the participant's connections; nil for a
// participant made by hand in a test.
func (p *Participant) engine() *Engine {
	if p.room == nil {
		return nil
	}
	return p.room.rooms.engine
}

// restartGraceOrDefault is the engine's ICE restart grace, the default without an
// engine.
func (e *Engine) restartGraceOrDefault() time.Duration {
	if e == nil {
		return DefaultICERestartGrace
	}
	return e.restartGrace
}

// timingsOrNil is the engine's Timings, nil with none or without an engine.
func (e *Engine) timingsOrNil() Timings {
	if e == nil {
		return nil
	}
	return e.timings
}

// info describes the participant with the given tracks.
func (p *Participant) info(tracks []*Track) ParticipantInfo {
	infos := make([]TrackInfo, len(tracks))
	for i, t := range tracks {
		infos[i] = t.Info()
	}
	return ParticipantInfo{ID: p.id, Identity: p.identity, Name: p.name, Transport: p.transport, Tracks: infos}
}

// watchConnection reports to the observer a connection that failed and was not
// restarted within the engine's ICE restart grace.
func (p *Participant) watchConnection(side Side, pc *webrtc.PeerConnection) {
	// A panic in a callback ends the participant, not Pion's goroutine and the
	// process with it.
	made, timings, grace := time.Now(), p.engine().timingsOrNil(), p.engine().restartGraceOrDefault()
	var connected atomic.Bool
	var (
		mu      sync.Mutex
		waiting *time.Timer // the grace of a failed connection; nil when none runs
	)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		defer safe.Recover(p.log, "connection state callback", p.obs.Connection.Failed)
		p.log.Debug("connection state", "side", side, "state", s)
		if s == webrtc.PeerConnectionStateConnected && timings != nil && connected.CompareAndSwap(false, true) {
			timings.ICEConnected(side, time.Since(made))
		}
		// Pion calls this on goroutines of their own, so states may come out of
		// order: the timer looks at the connection's state when it fires.
		mu.Lock()
		defer mu.Unlock()
		if s != webrtc.PeerConnectionStateFailed {
			if waiting != nil {
				waiting.Stop()
				waiting = nil
			}
			return
		}
		if waiting != nil {
			return
		}
		p.log.Info("media connection failed; waiting for an ICE restart", "side", side, "grace", grace)
		waiting = time.AfterFunc(grace, func() {
			defer safe.Recover(p.log, "ICE restart grace", p.obs.Connection.Failed)
			mu.Lock()
			waiting = nil
			mu.Unlock()
			if pc.ConnectionState() == webrtc.PeerConnectionStateFailed {
				p.obs.Connection.Failed(&ConnectionError{Side: side})
			}
		})
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		defer safe.Recover(p.log, "ICE candidate callback", p.obs.Connection.Failed)
		if c != nil {
			p.obs.Connection.Candidate(side, c.ToJSON())
		}
	})
}

// ConnectionError reports that one of a participant's connections failed.
type ConnectionError struct{ Side Side }

func (e *ConnectionError) Error() string { return "sfu: " + string(e.Side) + " connection failed" }

// maxPendingCandidates bounds the remote candidates kept while a connection has no
// remote description yet: a browser gathers a handful per interface, and a client that
// sends more before its offer is not behaving.
const maxPendingCandidates = 64

// maxCandidates bounds the remote candidates one connection takes in one ICE session
// (until an ICE restart), those kept before the description included: Pion's agent
// keeps each one and pairs it with every local candidate, so a client trickling
// without end would grow memory and connectivity checks. A browser sends a dozen.
const maxCandidates = 256

// candidateQueue holds remote ICE candidates until the description they belong to has
// been applied, and counts those taken in the connection's current ICE session.
type candidateQueue struct {
	ready   bool
	pending []webrtc.ICECandidateInit
	taken   int    // candidates taken in the current ICE session
	ufrag   string // the remote ICE username fragment of that session
}

// add applies c now if the queue is ready, else keeps it for flush. Past
// maxCandidates in one ICE session it refuses c.
func (q *candidateQueue) add(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) error {
	// Parse before queueing, so that a malformed candidate is refused at once.
	if _, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:")); err != nil {
		return wrapCandidateError(err)
	}
	if q.taken >= maxCandidates {
		return wrapCandidateError(errCandidateLimit)
	}
	if !q.ready {
		if len(q.pending) >= maxPendingCandidates {
			return wrapCandidateError(errTooManyCandidates)
		}
		q.pending = append(q.pending, c)
		q.taken++
		return nil
	}
	q.taken++
	return wrapCandidateError(pc.AddICECandidate(c))
}

// flush marks the queue ready and applies what it kept. Candidates that fail are
// reported through log: the client that sent them has already moved on. A remote
// description with new ICE credentials is an ICE restart, after which Pion's agent
// has forgotten the old candidates: the count starts again.
func (q *candidateQueue) flush(pc *webrtc.PeerConnection, log *slog.Logger) {
	if u := remoteUfrag(pc); u != q.ufrag {
		if q.ready {
			q.taken = 0
		}
		q.ufrag = u
	}
	q.ready = true
	for _, c := range q.pending {
		if err := pc.AddICECandidate(c); err != nil {
			log.Debug("queued candidate refused", "err", err)
		}
	}
	q.pending = nil
}

// remoteUfrag is the ICE username fragment of pc's remote description, "" when none.
func remoteUfrag(pc *webrtc.PeerConnection) string {
	rd := pc.RemoteDescription()
	if rd == nil {
		return ""
	}
	// A copy: Unmarshal caches its result in the description, which Pion shares.
	own := webrtc.SessionDescription{Type: rd.Type, SDP: rd.SDP}
	parsed, err := own.Unmarshal()
	if err != nil {
		return ""
	}
	if u, ok := parsed.Attribute("ice-ufrag"); ok {
		return u
	}
	for _, md := range parsed.MediaDescriptions {
		if u, ok := md.Attribute("ice-ufrag"); ok {
			return u
		}
	}
	return ""
}
