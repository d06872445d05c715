package client

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/wire"
)

// Auto rooms (docs/protocol.md, "Auto rooms"): the room is mesh while small and SFU
// once it grows, and the client follows. On switch it sets up the new mode's
// connections with the tracks it publishes (the SFU publisher, whose subscriber the
// server offers; or a peer connection per participant); once it receives media on
// the new path from every participant it received media from on the old one (or
// after SwitchWait), it reports switched; on the server's switched it closes the old
// mode's connections. The server's switch and switched messages also reach Events.

// SwitchWait is how long the client waits for the new path's media before it
// reports switched all the same.
const SwitchWait = 10 * time.Second

// The paths media reaches the client by.
const (
	pathSFU  = "sfu"
	pathMesh = "mesh"
)

// localTrack is a track the client publishes in an auto room, on whichever side.
type localTrack struct {
	track  webrtc.TrackLocal
	source string
}

// autoRoom is the client's state in an auto room. Its changes run one at a time on
// its own goroutine (ops), posted by the read loop and by Publish, so that the read
// loop never waits for them: a change may wait for a reply the read loop brings.
type autoRoom struct {
	c    *Client
	self string

	ops  chan func() // unbounded in effect: see post
	opMu sync.Mutex
	opQ  []func()
	done chan struct{} // closed when the ops goroutine ends

	mu        sync.Mutex
	mode      string // the newest side
	old       string // during a switch: the side being left
	epoch     int
	switching bool // from switch until the server's switched
	reported  bool
	waitFor   map[string]bool            // peers whose media on the new path is awaited
	heard     map[string]map[string]bool // path -> peers whose media came by it
	timer     *time.Timer
	peers     map[string]*meshPeer
	local     []localTrack
}

// startAuto begins following the auto room joined: called on the read loop with
// the joined message, before anything after it is read.
func (c *Client) startAuto(j wire.Joined) {
	a := &autoRoom{c: c, self: j.Participant.ID, mode: j.Mode, ops: make(chan func(), 1), done: make(chan struct{}),
		heard: map[string]map[string]bool{pathSFU: {}, pathMesh: {}}, peers: map[string]*meshPeer{}}
	c.auto.Store(a)
	go a.run()
	if j.Mode == pathMesh {
		ids := participantIDs(j.Participants)
		a.post(func() { a.meetPresent(ids) })
	}
}

func participantIDs(ps []wire.Participant) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// post queues fn on the ops goroutine; it never blocks. The queue is not bounded
// here: what fills it comes from the server, which bounds it (each peer's relays are
// rate limited, switches come one at a time).
func (a *autoRoom) post(fn func()) {
	a.opMu.Lock()
	a.opQ = append(a.opQ, fn)
	a.opMu.Unlock()
	select {
	case a.ops <- nil:
	default:
	}
}

func (a *autoRoom) run() {
	defer close(a.done)
	for {
		a.opMu.Lock()
		q := a.opQ
		a.opQ = nil
		a.opMu.Unlock()
		for _, fn := range q {
			if a.c.ctx.Err() != nil {
				return
			}
			fn()
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-a.ops:
		case <-a.c.ctx.Done():
			return
		}
	}
}

// dispatch handles a message of the auto room on the read loop; it reports whether
// the message is the client's alone (a relay), not for Events.
func (a *autoRoom) dispatch(m Event) bool {
	switch m.Type {
	case wire.TypeSwitch:
		sw := m.Switch()
		a.post(func() { a.switchTo(sw) })
	case wire.TypeSwitched:
		sw := m.Switched()
		a.post(func() { a.switched(sw) })
	case wire.TypeParticipantJoined:
		id := m.Participant().ID
		a.post(func() { a.meetNewcomer(id) })
	case wire.TypeParticipantLeft:
		id := m.Participant().ID
		a.post(func() { a.dropPeer(id) })
	case wire.TypeRelay:
		r := m.Relayed()
		a.post(func() { a.relayed(r) })
		return true
	}
	return false
}

// sides reports which sides the client is in now.
func (a *autoRoom) sides() (sfu, mesh bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mode == pathSFU || a.old == pathSFU, a.mode == pathMesh || a.old == pathMesh
}

func (a *autoRoom) localTracks() []localTrack {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.local)
}

// meetPresent makes connections to peers already in the mesh side, which offer.
func (a *autoRoom) meetPresent(ids []string) {
	for _, id := range ids {
		if p := a.peer(id); p != nil {
			p.mu.Lock()
			p.awaiting = len(p.sent) == 0 && p.pc.RemoteDescription() == nil
			p.mu.Unlock()
		}
	}
}

// meetNewcomer offers to a peer that joined the mesh side after the client.
func (a *autoRoom) meetNewcomer(id string) {
	a.mu.Lock()
	inMesh := a.mode == pathMesh
	_, known := a.peers[id]
	a.mu.Unlock()
	if !inMesh || known || id == a.self {
		return // an SFU side's join, or a peer met already
	}
	if p := a.peer(id); p != nil {
		if err := p.offerFirst(a.localTracks()); err != nil {
			a.c.clientError("mesh offer to " + id + ": " + err.Error())
		}
	}
}

// peer is the connection to id, made when there is none.
func (a *autoRoom) peer(id string) *meshPeer {
	a.mu.Lock()
	p := a.peers[id]
	a.mu.Unlock()
	if p != nil {
		return p
	}
	p, err := a.c.newMeshPeer(a.self, id)
	if err != nil {
		a.c.clientError("mesh connection to " + id + ": " + err.Error())
		return nil
	}
	a.mu.Lock()
	a.peers[id] = p
	a.mu.Unlock()
	return p
}

// dropPeer closes the connection to a peer that left, and waits for its media no
// more.
func (a *autoRoom) dropPeer(id string) {
	a.mu.Lock()
	p := a.peers[id]
	delete(a.peers, id)
	delete(a.waitFor, id)
	for _, heard := range a.heard {
		delete(heard, id)
	}
	a.mu.Unlock()
	if p != nil {
		p.close()
	}
	a.check()
}

func (a *autoRoom) relayed(r wire.Relayed) {
	d, ok := decodeMeshSignal(r.Data)
	if !ok {
		return
	}
	a.mu.Lock()
	p, inMesh := a.peers[r.From], a.mode == pathMesh || a.old == pathMesh
	a.mu.Unlock()
	if p == nil {
		if !inMesh || d.Description == nil || d.Description.Type != webrtc.SDPTypeOffer {
			return // a peer gone, or not met: nothing to apply its relay to
		}
		if p = a.peer(r.From); p == nil {
			return
		}
	}
	if err := p.handle(d, a.localTracks()); err != nil {
		a.c.clientError("mesh relay from " + r.From + ": " + err.Error())
	}
}

// switchTo follows the server's switch: the new side's connections, with the tracks
// the client publishes.
func (a *autoRoom) switchTo(sw wire.Switch) {
	a.mu.Lock()
	if a.timer != nil {
		a.timer.Stop()
	}
	a.old, a.mode, a.epoch, a.switching, a.reported = a.mode, sw.Mode, sw.Epoch, true, false
	a.waitFor = maps.Clone(a.heard[a.old])
	a.heard[sw.Mode] = map[string]bool{}
	epoch := sw.Epoch
	a.timer = time.AfterFunc(SwitchWait, func() { a.report(epoch) })
	a.mu.Unlock()
	switch sw.Mode {
	case pathMesh:
		a.meetPresent(participantIDs(sw.Participants))
	case pathSFU:
		if err := a.c.publishAll(a.localTracks()); err != nil {
			a.c.clientError("publish on the SFU side: " + err.Error())
		}
	}
	a.check()
}

// check reports switched once every awaited peer's media came by the new path.
func (a *autoRoom) check() {
	a.mu.Lock()
	done := a.switching && !a.reported && len(a.waitFor) == 0
	epoch := a.epoch
	a.mu.Unlock()
	if done {
		a.report(epoch)
	}
}

// report sends switched for epoch, once, if that switch still runs.
func (a *autoRoom) report(epoch int) {
	a.mu.Lock()
	due := a.switching && a.epoch == epoch && !a.reported
	a.reported = a.reported || due
	a.mu.Unlock()
	if due {
		ctx, cancel := context.WithTimeout(a.c.ctx, relayTimeout)
		defer cancel()
		_ = a.c.Send(ctx, wire.TypeSwitched, wire.Switched{Epoch: epoch})
	}
}

// received notes media from participant by path.
func (a *autoRoom) received(path, participant string) {
	a.mu.Lock()
	a.heard[path][participant] = true
	if a.switching && path == a.mode {
		delete(a.waitFor, participant)
	}
	a.mu.Unlock()
	a.check()
}

// switched ends the switch: the old side's connections close.
func (a *autoRoom) switched(sw wire.Switched) {
	a.mu.Lock()
	if a.timer != nil {
		a.timer.Stop()
	}
	old := a.old
	a.old, a.switching = "", false
	if old != "" {
		a.heard[old] = map[string]bool{}
	}
	var peers []*meshPeer
	if old == pathMesh {
		peers = slices.Collect(maps.Values(a.peers))
		clear(a.peers)
	}
	a.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
	if old == pathSFU {
		a.c.pub.reset()
		a.c.sub.reset()
	}
}

// publish adds track to every side the client is in.
func (a *autoRoom) publish(track webrtc.TrackLocal, source string) error {
	a.mu.Lock()
	a.local = append(a.local, localTrack{track: track, source: source})
	a.mu.Unlock()
	sfu, mesh := a.sides()
	if sfu {
		if err := a.c.publishAll([]localTrack{{track: track, source: source}}); err != nil {
			return err
		}
	}
	if mesh {
		a.mu.Lock()
		peers := slices.Collect(maps.Values(a.peers))
		a.mu.Unlock()
		for _, p := range peers {
			if err := p.send(track); err != nil {
				return err
			}
		}
	}
	return nil
}

// close ends the mesh connections, once the ops goroutine has stopped.
func (a *autoRoom) close() {
	<-a.done
	a.mu.Lock()
	if a.timer != nil {
		a.timer.Stop()
	}
	peers := slices.Collect(maps.Values(a.peers))
	clear(a.peers)
	a.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
}

// meshConnected reports whether every mesh connection is up.
func (a *autoRoom) meshConnected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.peers {
		if !p.connected() {
			return false
		}
	}
	return true
}

// streamSources are the sources of the client's local streams, for mesh peers.
func (c *Client) streamSources() map[string]string {
	out := map[string]string{}
	a := c.auto.Load()
	if a == nil {
		return out
	}
	for _, l := range a.localTracks() {
		if l.track.Kind() == webrtc.RTPCodecTypeVideo {
			src := "camera"
			if l.source == "screen" {
				src = "screen"
			}
			out[l.track.StreamID()] = src
		}
	}
	return out
}

// AutoMode is the side of an auto room the client is on now ("mesh" or "sfu"; the
// new one during a switch), and whether a switch is running; "" outside an auto room.
func (c *Client) AutoMode() (mode string, switching bool) {
	a := c.auto.Load()
	if a == nil {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mode, a.switching
}

// MeshConnections is how many peer connections of an auto room's mesh side the
// client has open.
func (c *Client) MeshConnections() int {
	a := c.auto.Load()
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.peers)
}
