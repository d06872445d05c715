package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-rtc/switchboard/internal/safe"
	"github.com/switchboard-rtc/switchboard/roster"
)

// Publisher is the connection on which a participant sends media. The client offers;
// each remote track becomes a published Track of the room.
//
// The connection is made on the first offer: a participant that only subscribes
// never has one, which spares its ICE agent, sockets and goroutines.
//
// Answer and AddCandidate are called by one goroutine at a time (the participant's
// signaling session); Pion's track callbacks run on goroutines of their own. mu guards
// the fields below it.
type Publisher struct {
	p      *Participant
	engine *Engine
	log    *slog.Logger

	mu         sync.Mutex
	pc         *webrtc.PeerConnection // nil until the first offer
	sources    map[string]Source      // by mid, as the client named them
	rids       map[string][]string    // by mid: the simulcast layers the offer sends
	tracks     map[string]*Track      // by mid
	used       map[string]bool        // mids that have carried a track
	mlines     []mline                // of the last offer applied, in order
	mids       int                    // distinct mids the connection has been offered
	candidates candidateQueue
	closed     bool
	loops      sync.WaitGroup // one per forward loop
}

func newPublisher(p *Participant, engine *Engine) *Publisher {
	return &Publisher{
		p: p, engine: engine, log: p.log.With("side", SidePublisher),
		sources: map[string]Source{}, tracks: map[string]*Track{}, used: map[string]bool{},
	}
}

// newPublisherOn publishes the remote tracks of pc, a connection whose state and
// candidates someone else watches: the subscriber's, for a single-connection
// participant.
func newPublisherOn(p *Participant, engine *Engine, pc *webrtc.PeerConnection) *Publisher {
	pub := newPublisher(p, engine)
	pub.pc = pc
	pc.OnTrack(pub.onTrack)
	return pub
}

// connectionLocked returns the peer connection, making it on first use. pub.mu is
// held.
func (pub *Publisher) connectionLocked() (*webrtc.PeerConnection, error) {
	if pub.closed {
		return nil, ErrClosed
	}
	if pub.pc == nil {
		pc, err := pub.engine.newPublisherConnection()
		if err != nil {
			return nil, err
		}
		pc.OnTrack(pub.onTrack)
		pub.p.watchConnection(SidePublisher, pc)
		pub.pc = pc
	}
	return pub.pc, nil
}

// Answer applies a client's offer and returns the answer. sources names what each
// sending transceiver carries, by mid; unnamed ones default by kind. A transceiver
// that no longer sends unpublishes its track.
//
// A transceiver that stopped sending cannot send again: Pion does not restart the
// receiver of an m-line that went inactive, so such an offer is refused rather than
// answered and silently never published. Clients add a new transceiver instead.
func (pub *Publisher) Answer(offerSDP string, sources map[string]Source) (string, error) {
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}
	parsed, err := offer.Unmarshal()
	if err != nil {
		return "", wrapSDPError(err)
	}
	if err := pub.checkTracks(parsed); err != nil {
		return "", err
	}
	if err := checkSources(parsed, sources); err != nil {
		return "", err
	}
	pub.mu.Lock()
	if err := checkMLines(pub.mlines, pub.mids, parsed); err != nil {
		pub.mu.Unlock()
		return "", err
	}
	for _, md := range parsed.MediaDescriptions {
		if mid, _ := md.Attribute(sdp.AttrKeyMID); pub.used[mid] && pub.tracks[mid] == nil && sends(md) {
			pub.mu.Unlock()
			return "", wrapSDPError(fmt.Errorf("m-line %q stopped sending and cannot send again; use a new transceiver", mid))
		}
	}
	if err := pub.checkGrantsLocked(parsed, sources); err != nil {
		pub.mu.Unlock()
		return "", err
	}
	pub.sources = keptSources(parsed, pub.sources, sources)
	pub.rids = simulcastRids(parsed)
	pc, err := pub.connectionLocked()
	pub.mu.Unlock()
	if err != nil {
		return "", err
	}
	if err := pc.SetRemoteDescription(offer); err != nil {
		return "", wrapSDPError(err)
	}
	pub.mu.Lock()
	pub.mids += len(newMids(pub.mlines, parsed))
	pub.mlines = mlinesOf(parsed)
	pub.mu.Unlock()
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", wrapSDPError(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", wrapSDPError(err)
	}
	pub.mu.Lock()
	pub.candidates.flush(pc, pub.log)
	pub.mu.Unlock()
	pub.unpublishStopped(parsed)
	return answer.SDP, nil
}

// checkGrantsLocked refuses an offer that sends what the participant may not publish.
// pub.mu is held.
func (pub *Publisher) checkGrantsLocked(offer *sdp.SessionDescription, sources map[string]Source) error {
	g := pub.p.grants
	if g == nil {
		return nil
	}
	for _, md := range offer.MediaDescriptions {
		if !sends(md) {
			continue
		}
		if !g.Publish {
			return fmt.Errorf("%w: this participant may not publish", ErrForbidden)
		}
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		src, ok := sources[mid]
		if !ok {
			src, ok = pub.sources[mid]
		}
		if !ok {
			src = defaultSource(md.MediaName.Media == "audio")
		}
		if !g.maySend(src) {
			return fmt.Errorf("%w: this participant may not publish %s", ErrForbidden, src)
		}
	}
	return nil
}

// maxMLines bounds the m-lines of an offer, and maxMids the mids a publisher
// connection is ever offered: Pion keeps a transceiver for each mid for the life of
// the connection. A client that publishes and unpublishes adds a new mid each time
// (a browser recycles a rejected m-line under a new mid); 256 is far more than a
// meeting's worth of screen shares started and stopped.
const (
	maxMLines = 128
	maxMids   = 256
)

// mline is what is remembered of an applied offer's m-line.
type mline struct {
	mid      string
	rejected bool // port 0: the m-line may be recycled under a new mid
}

// checkMLines refuses an offer that has more than maxMLines m-lines, that drops or
// reorders the m-lines of prev (the previous offer's), or whose new mids would take
// the connection past maxMids (seen is how many it has had). An m-line is never
// removed, and keeps its mid unless it was rejected (RFC 8829, section 5.2.2).
func checkMLines(prev []mline, seen int, offer *sdp.SessionDescription) error {
	mds := offer.MediaDescriptions
	if len(mds) > maxMLines {
		return wrapSDPError(fmt.Errorf("the offer has %d m-lines, at most %d are allowed", len(mds), maxMLines))
	}
	if len(mds) < len(prev) {
		return wrapSDPError(fmt.Errorf("the offer has %d m-lines, the previous one %d: m-lines cannot be removed", len(mds), len(prev)))
	}
	for i, was := range prev {
		if mid, _ := mds[i].Attribute(sdp.AttrKeyMID); mid != was.mid && !was.rejected {
			return wrapSDPError(fmt.Errorf("m-line %d has mid %q, was %q: only a rejected m-line may take a new mid", i, mid, was.mid))
		}
	}
	if n := seen + len(newMids(prev, offer)); n > maxMids {
		return wrapSDPError(fmt.Errorf("the connection would have had %d mids, at most %d are allowed: join again", n, maxMids))
	}
	return nil
}

// newMids lists the mids of offer that prev does not have.
func newMids(prev []mline, offer *sdp.SessionDescription) []string {
	var out []string
	for i, md := range offer.MediaDescriptions {
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		if i >= len(prev) || prev[i].mid != mid {
			out = append(out, mid)
		}
	}
	return out
}

// mlinesOf lists offer's m-lines, in order.
func mlinesOf(offer *sdp.SessionDescription) []mline {
	out := make([]mline, len(offer.MediaDescriptions))
	for i, md := range offer.MediaDescriptions {
		out[i].mid, _ = md.Attribute(sdp.AttrKeyMID)
		out[i].rejected = md.MediaName.Port.Value == 0
	}
	return out
}

// checkSources refuses sources that name a mid the offer has no m-line for: what the
// server keeps of them is then bounded by the offer's m-lines.
func checkSources(offer *sdp.SessionDescription, sources map[string]Source) error {
	if len(sources) == 0 {
		return nil
	}
	mids := make(map[string]bool, len(offer.MediaDescriptions))
	for _, md := range offer.MediaDescriptions {
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		mids[mid] = true
	}
	for mid := range sources {
		if !mids[mid] {
			return fmt.Errorf("%w: sources names mid %q, which the offer does not have", ErrUnknownMid, mid)
		}
	}
	return nil
}

// keptSources is the sources to keep once offer is applied: for each of its m-lines,
// the source named now, else the one named before. Mids the offer no longer has are
// dropped, so the map never holds more entries than the latest offer has m-lines.
func keptSources(offer *sdp.SessionDescription, old, named map[string]Source) map[string]Source {
	kept := make(map[string]Source, len(offer.MediaDescriptions))
	for _, md := range offer.MediaDescriptions {
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		if src, ok := named[mid]; ok {
			kept[mid] = src
		} else if src, ok := old[mid]; ok {
			kept[mid] = src
		}
	}
	return kept
}

// NamedSources is how many m-lines of the connection have a source the client named.
func (pub *Publisher) NamedSources() int {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	return len(pub.sources)
}

// defaultSource is the source of a track its client did not name.
func defaultSource(audio bool) Source {
	if audio {
		return SourceMicrophone
	}
	return SourceCamera
}

// checkTracks refuses an offer that sends more tracks than the limit.
func (pub *Publisher) checkTracks(offer *sdp.SessionDescription) error {
	e := pub.p.engine()
	if e == nil {
		return nil
	}
	n := 0
	for _, md := range offer.MediaDescriptions {
		if kind := md.MediaName.Media; (kind == "audio" || kind == "video") && sends(md) {
			n++
		}
	}
	if exceeds(n, e.limits.MaxTracks) {
		return fmt.Errorf("%w: the offer sends %d, at most %d are allowed", ErrTooManyTracks, n, e.limits.MaxTracks)
	}
	return nil
}

// AddCandidate applies a remote ICE candidate, or keeps it until the first offer.
// (Before the first offer pc is nil, and the queue is not ready: it only keeps.)
func (pub *Publisher) AddCandidate(c webrtc.ICECandidateInit) error {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	return pub.candidates.add(pub.pc, c)
}

// unpublishStopped unpublishes the tracks of m-lines the client no longer sends on.
func (pub *Publisher) unpublishStopped(offer *sdp.SessionDescription) {
	for _, md := range offer.MediaDescriptions {
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		if sends(md) {
			continue
		}
		pub.mu.Lock()
		t := pub.tracks[mid]
		delete(pub.tracks, mid)
		pub.mu.Unlock()
		if t != nil {
			pub.p.room.unpublish(pub.p, t)
		}
	}
}

// sends reports whether the offerer of md sends media on it.
func sends(md *sdp.MediaDescription) bool {
	if md.MediaName.Port.Value == 0 {
		return false
	}
	for _, a := range md.Attributes {
		switch a.Key {
		case "recvonly", "inactive":
			return false
		}
	}
	return true
}

// onTrack publishes a new remote track and forwards it until it ends. Pion calls it
// on a goroutine of its own.
//
// A panic in it ends the participant (ConnectionObserver.Failed); one in the forward loop ends
// the track alone.
func (pub *Publisher) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	defer safe.Recover(pub.log, "track callback", pub.p.obs.Connection.Failed)
	pub.mu.Lock()
	pc := pub.pc
	pub.mu.Unlock()
	mid := midOf(pc, recv)
	pub.mu.Lock()
	if pub.closed {
		pub.mu.Unlock()
		return
	}
	if root := pub.tracks[mid]; root != nil {
		// Another layer of a simulcast track; a second encoding of a track not
		// announced as simulcast is not forwarded.
		var l *Track
		if root.sim != nil && remote.RID() != "" {
			l = root.addLayer(remote.RID(), uint32(remote.SSRC()))
		}
		if l != nil {
			pub.loops.Add(2)
		}
		pub.mu.Unlock()
		if l != nil {
			pub.forwardLayer(remote, recv, l)
		}
		return
	}
	src, ok := pub.sources[mid]
	if !ok {
		src = defaultSource(remote.Kind() == webrtc.RTPCodecTypeAudio)
	}
	if !pub.p.grants.maySend(src) {
		// Offers are checked before they are answered; a single-connection
		// participant's tracks arrive on transceivers the server offered.
		pub.mu.Unlock()
		pub.log.Info("track refused: not allowed to publish it", "source", src)
		return
	}
	info := TrackInfo{ID: TrackID(roster.RandomID("t_")), Participant: pub.p.id, Kind: remote.Kind(), Source: src}
	log := pub.log.With("track", info.ID, "source", src, "codec", remote.Codec().MimeType)
	t := newTrack(info, remote.Codec(), uint32(remote.SSRC()), pc.WriteRTCP, log)
	t.fanout = pub.engine.fanout()
	if info.Kind == webrtc.RTPCodecTypeAudio {
		t.levelExt = extensionID(recv, sdp.AudioLevelURI)
	}
	if rids := pub.rids[mid]; info.Kind == webrtc.RTPCodecTypeVideo && remote.RID() != "" && slices.Contains(rids, remote.RID()) {
		newSimulcast(t, rids, remote.RID())
		t.watchLayers(pub.layersReporter(t.info.ID, mid))
		defer t.stopLayers()
	}
	pub.tracks[mid] = t
	pub.used[mid] = true
	pub.loops.Add(2)
	pub.mu.Unlock()
	defer pub.loops.Done()

	log.Info("track published", "rid", t.rid)
	go pub.readRTCP(recv, t)
	pub.engine.trackStarted(t)
	defer pub.engine.trackEnded(t)
	pub.p.room.publish(pub.p, t)
	t.readLoop(remote)

	pub.mu.Lock()
	if pub.tracks[mid] == t {
		delete(pub.tracks, mid)
	}
	pub.mu.Unlock()
	pub.p.room.unpublish(pub.p, t)
}

// readRTCP reads the publisher's RTCP for track t: Pion's interceptors see its
// sender reports on the way (for receiver reports), and t forwards them to its
// down-tracks (lip sync).
func (pub *Publisher) readRTCP(recv *webrtc.RTPReceiver, t *Track) {
	defer pub.loops.Done()
	defer safe.Recover(pub.log, "publisher RTCP reader", pub.p.obs.Connection.Failed)
	read := rtcpSource(recv.Read)
	if t.rid != "" {
		read = func(b []byte) (int, interceptor.Attributes, error) { return recv.ReadSimulcast(b, t.rid) }
	}
	readRTCP(read, pub.log, nil, func(pkts []rtcp.Packet) {
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == t.ssrc {
				t.senderReport(sr.NTPTime, sr.RTPTime)
			}
		}
	})
}

// extensionID is the id of the header extension uri negotiated for recv, 0 when
// none is.
func extensionID(recv *webrtc.RTPReceiver, uri string) uint8 {
	for _, e := range recv.GetParameters().HeaderExtensions {
		if e.URI == uri && e.ID > 0 && e.ID < 256 {
			return uint8(e.ID)
		}
	}
	return 0
}

func midOf(pc *webrtc.PeerConnection, recv *webrtc.RTPReceiver) string {
	for _, tr := range pc.GetTransceivers() {
		if tr.Receiver() == recv {
			return tr.Mid()
		}
	}
	return ""
}

// close ends the connection and waits for the forward loops.
func (pub *Publisher) close() {
	pub.mu.Lock()
	pub.closed = true
	pc := pub.pc
	pub.mu.Unlock()
	if pc != nil {
		if err := closeConnection(pub.p.engine(), pc); err != nil {
			pub.log.Debug("close", "err", err)
		}
	}
	pub.loops.Wait()
}

// LocalDescription waits until the connection has gathered its ICE candidates, then
// returns the current answer with them in it: for clients that cannot receive
// trickled candidates (WHIP).
func (pub *Publisher) LocalDescription(ctx context.Context) (string, error) {
	pub.mu.Lock()
	pc := pub.pc
	pub.mu.Unlock()
	if pc == nil {
		return "", ErrNoOffer
	}
	return gathered(ctx, pc)
}

// forwardLayer forwards layer l of a simulcast track until its stream ends. The
// caller has added two to pub.loops.
func (pub *Publisher) forwardLayer(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver, l *Track) {
	defer pub.loops.Done()
	l.log.Info("simulcast layer received")
	go pub.readRTCP(recv, l)
	pub.engine.trackStarted(l)
	defer pub.engine.trackEnded(l)
	l.readLoop(remote)
}

// layersReporter tells the participant which layers of its track id, sent on the
// m-line mid of its connection, some subscriber needs; nil when its owner does not
// listen.
func (pub *Publisher) layersReporter(id TrackID, mid string) func(map[string]bool) {
	obs := pub.p.obs.Layers
	if obs == nil {
		return nil
	}
	return func(active map[string]bool) { obs.PublishLayers(id, mid, active) }
}

// simulcastRids lists, by mid, the rids of each video m-line of offer that sends
// simulcast (a=simulcast with two to maxLayers "a=rid:<id> send" lines).
func simulcastRids(offer *sdp.SessionDescription) map[string][]string {
	out := map[string][]string{}
	for _, md := range offer.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		if _, ok := md.Attribute("simulcast"); !ok {
			continue
		}
		var values []string
		for _, a := range md.Attributes {
			if a.Key == "rid" {
				values = append(values, a.Value)
			}
		}
		if rids := ridsOf(values); rids != nil {
			mid, _ := md.Attribute(sdp.AttrKeyMID)
			out[mid] = rids
		}
	}
	return out
}
