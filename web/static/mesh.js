// @ts-check
/**
 * The peer connections of a mesh room: one RTCPeerConnection per remote peer, media
 * flowing directly between the browsers. The server only relays what the peers
 * address to each other (docs/protocol.md, "Mesh rooms"); the session
 * (switchboard.js) carries those relays and reaches this module through
 * {@link MeshHost}. No DOM code.
 *
 * Negotiation follows the perfect negotiation pattern: either side may offer at any
 * time; when two offers cross, the polite peer (the one with the greater id) rolls
 * its own back and answers, the impolite one ignores the other's.
 *
 * Who offers first: a peer already in the room adds its tracks as soon as it hears of
 * a newcomer, and so offers (or, with nothing to send, relays `{ready: true}`); the
 * newcomer holds its tracks back until it has answered that offer or got `ready` (or
 * FIRST_OFFER_WAIT_MS passed, for a peer that sends neither), then adds them and
 * renegotiates. Both sides offering at once would work by the pattern, but Chromium's
 * implicit rollback of a crossing offer misbehaves at times in headless runs; letting
 * one side go first avoids the race on every join, and the pattern still settles
 * later crossings.
 *
 * Relay payloads (the `data` of a relay):
 * - `{description: {type, sdp}, streams: {<stream id>: <source>}}`: an offer or an
 *   answer, with the source (`camera` or `screen`) of each local stream it may carry;
 *   a stream's audio is its `microphone`.
 * - `{candidate: RTCIceCandidateInit}`: one trickled ICE candidate.
 * - `{ready: true}`: a peer already in the room has nothing to offer; the newcomer
 *   may offer its own tracks.
 *
 * Grants (docs/protocol.md, "Grants in mesh rooms"): on a server with join tokens the
 * server refuses a description that sends media its sender may not send, or to a peer
 * that may not receive. So this module sends no tracks to a peer whose grants say it
 * does not subscribe (it relays `ready` instead), and does not publish a kind of track
 * this peer may not send. A peer that sends nothing answers offers with sections that
 * only receive, and never offers.
 *
 * @module mesh
 */

import { SwitchboardError } from './transport.js';

/** @import { ClientState, RemoteTrack, Source, TrackInfo } from './switchboard.js' */

/**
 * How long a newcomer waits for a peer's first offer (or `ready`) before offering
 * itself: a bound for peers that send neither, long enough for a heavily loaded
 * machine, on which a fallback that fires early would make the offers cross.
 */
export const FIRST_OFFER_WAIT_MS = 30_000;

/**
 * What a peer may do, as the server says in its participant object.
 * @typedef {object} MeshGrants
 * @property {boolean} audio      may send audio
 * @property {boolean} video      may send video
 * @property {boolean} subscribe  may receive media
 */

/** @type {MeshGrants} the grants of a peer whose participant object carries none */
const ALL_GRANTS = Object.freeze({ audio: true, video: true, subscribe: true });

/**
 * A peer's grants from the `grants` of its participant object: everything is allowed
 * unless the server says otherwise.
 * @param {unknown} value
 * @returns {MeshGrants}
 */
export function meshGrants(value) {
  if (!isRecord(value)) return ALL_GRANTS;
  return { audio: value.audio !== false, video: value.video !== false, subscribe: value.subscribe !== false };
}

/** Remote candidates kept while their description has not arrived; a bound only. */
const MAX_QUEUED_CANDIDATES = 256;

/**
 * What the mesh needs from the session that owns it.
 * @typedef {object} MeshHost
 * @property {ClientState} state
 * @property {RTCIceServer[]} iceServers
 * @property {{id: string, name: string} | null} self
 * @property {(to: string, data: object) => void} relay  sends data to one peer, unless the session is closing
 * @property {(err: SwitchboardError) => void} report   an error that belongs to no call
 * @property {(target: string, state: RTCPeerConnectionState) => void} peerStateChanged
 * @property {(remote: RemoteTrack) => void} remoteTrackAdded
 * @property {(remote: RemoteTrack) => void} remoteTrackRemoved
 * @property {(track: MediaStreamTrack, source: Source) => void} localTrackEnded
 */

/**
 * A local track sent to every peer.
 * @typedef {object} MeshLocalTrack
 * @property {MediaStreamTrack} track
 * @property {Source} source
 * @property {MediaStream} stream
 * @property {() => void} onEnded
 */

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every peer connection of a mesh room, by remote peer id.
 */
export class MeshConnections {
  /**
   * @param {MeshHost} host
   * @param {MeshGrants} [grants] what this peer may do
   */
  constructor(host, grants = ALL_GRANTS) {
    this.host = host;
    this.grants = grants;
    /** @type {Map<string, MeshPeer>} by peer id */
    this.peers = new Map();
    /** @type {Map<MediaStreamTrack, MeshLocalTrack>} */
    this.local = new Map();
  }

  /**
   * Starts a connection to a peer. `present` says the peer was in the room when this
   * client joined: this side then waits for its first offer. `grants` are the peer's:
   * it gets no tracks when it may not receive them.
   * @param {string} peerId
   * @param {{present: boolean, grants?: MeshGrants}} options
   */
  peerJoined(peerId, { present, grants = ALL_GRANTS }) {
    if (this.peers.has(peerId) || peerId === this.host.self?.id) return;
    const polite = (this.host.self?.id ?? '') > peerId;
    const peer = new MeshPeer(this, peerId, polite, grants.subscribe);
    this.peers.set(peerId, peer);
    if (present) {
      peer.holdTracks(FIRST_OFFER_WAIT_MS);
      return;
    }
    peer.sendTracks();
    if (peer.senders.size === 0) this.host.relay(peerId, { ready: true });
  }

  /** @param {string} peerId */
  peerLeft(peerId) {
    this.peers.get(peerId)?.close();
    this.peers.delete(peerId);
  }

  /**
   * A relay from a peer.
   * @param {string} from
   * @param {unknown} data
   */
  handleRelay(from, data) {
    const peer = this.peers.get(from);
    if (!peer || !isRecord(data)) return; // a peer that left meanwhile
    peer.handle(data);
  }

  /**
   * Sends tracks to every peer that may receive them (and to those who come later),
   * except those of a kind this peer may not send, which it returns.
   * @param {MediaStreamTrack[]} tracks
   * @param {(track: MediaStreamTrack) => Source} sourceOf
   * @param {MediaStream} stream
   * @returns {MediaStreamTrack[]} the tracks not published: the grants do not allow them
   */
  publish(tracks, sourceOf, stream) {
    /** @type {MediaStreamTrack[]} */
    const refused = [];
    for (const track of tracks) {
      if (this.local.has(track)) continue;
      if (!(track.kind === 'audio' ? this.grants.audio : this.grants.video)) {
        refused.push(track);
        continue;
      }
      const source = sourceOf(track);
      const onEnded = () => this.host.localTrackEnded(track, source);
      track.addEventListener('ended', onEnded);
      /** @type {MeshLocalTrack} */
      const local = { track, source, stream, onEnded };
      this.local.set(track, local);
      for (const peer of this.peers.values()) peer.addLocal(local);
    }
    return refused;
  }

  /** @param {MediaStreamTrack[]} tracks */
  unpublish(tracks) {
    for (const track of tracks) {
      const local = this.local.get(track);
      if (!local) continue;
      this.local.delete(track);
      track.removeEventListener('ended', local.onEnded);
      for (const peer of this.peers.values()) peer.removeLocal(track);
    }
  }

  /** @param {Source} source */
  tracksOf(source) {
    return [...this.local.values()].filter((l) => l.source === source).map((l) => l.track);
  }

  /**
   * Sends `newTrack` in place of `oldTrack` to every peer (RTCRtpSender.replaceTrack
   * on each connection): no negotiation. Neither track is stopped.
   * @param {MediaStreamTrack} oldTrack
   * @param {MediaStreamTrack} newTrack
   * @returns {Promise<boolean>} whether `oldTrack` was being sent
   */
  async replace(oldTrack, newTrack) {
    const local = this.local.get(oldTrack);
    if (!local || this.local.has(newTrack)) return false;
    oldTrack.removeEventListener('ended', local.onEnded);
    const onEnded = () => this.host.localTrackEnded(newTrack, local.source);
    newTrack.addEventListener('ended', onEnded);
    this.local.delete(oldTrack);
    this.local.set(newTrack, { ...local, track: newTrack, onEnded });
    await Promise.all([...this.peers.values()].map((peer) => peer.replaceLocal(oldTrack, newTrack)));
    return true;
  }

  /**
   * The `streams` field of a description: source of each local stream.
   * @returns {Record<string, Source>}
   */
  streamSources() {
    /** @type {Record<string, Source>} */
    const out = {};
    for (const local of this.local.values()) out[local.stream.id] = local.source === 'screen' ? 'screen' : 'camera';
    return out;
  }

  /** Tracks received from every peer, with the mid each arrives on. */
  remoteTracks() {
    return [...this.peers.values()].flatMap((peer) => peer.remoteTracks());
  }

  close() {
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const local of this.local.values()) local.track.removeEventListener('ended', local.onEnded);
    this.local.clear();
  }
}

/**
 * The connection to one remote peer, negotiated by perfect negotiation.
 */
export class MeshPeer {
  /**
   * @param {MeshConnections} mesh
   * @param {string} peerId
   * @param {boolean} polite
   * @param {boolean} receives  whether the peer may receive media: it gets no tracks otherwise
   */
  constructor(mesh, peerId, polite, receives) {
    this.mesh = mesh;
    this.host = mesh.host;
    this.peerId = peerId;
    this.polite = polite;
    this.receives = receives;
    this.pc = new RTCPeerConnection({ iceServers: this.host.iceServers, bundlePolicy: 'max-bundle' });
    this.makingOffer = false;
    this.ignoreOffer = false;
    /** whether local tracks go on this connection yet (see holdTracks) */
    this.sending = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.holdTimer = undefined;
    /** @type {Map<MediaStreamTrack, RTCRtpSender>} */
    this.senders = new Map();
    /** @type {Map<string, Source>} remote stream id to source, as the peer said */
    this.remoteSources = new Map();
    /** @type {Map<MediaStreamTrack, RemoteTrack>} */
    this.remote = new Map();
    /** @type {RTCIceCandidateInit[]} */
    this.queued = [];
    /** relays are handled one at a time, in order */
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    this.closed = false;
    /** what negotiation has done so far, for diagnostics */
    this.stats = { offersSent: 0, answersSent: 0, offersIgnored: 0, received: 0, lastError: '' };

    const pc = this.pc;
    pc.onnegotiationneeded = () => { void this.offer(); };
    pc.onicecandidate = (event) => {
      if (!event.candidate || !event.candidate.candidate) return;
      this.host.relay(this.peerId, { candidate: event.candidate.toJSON() });
    };
    pc.ontrack = (event) => this.trackArrived(event);
    pc.onconnectionstatechange = () => this.host.peerStateChanged(this.target, pc.connectionState);
  }

  /** Name of this connection in onconnectionstate. */
  get target() {
    return `peer:${this.peerId}`;
  }

  /**
   * Holds local tracks back until the peer's first offer is answered, or for at most
   * `ms`.
   * @param {number} ms
   */
  holdTracks(ms) {
    this.holdTimer = setTimeout(() => this.sendTracks(), ms);
  }

  /** Puts every local track on the connection from now on. */
  sendTracks() {
    clearTimeout(this.holdTimer);
    if (this.sending || this.closed) return;
    this.sending = true;
    for (const local of this.mesh.local.values()) this.addLocal(local);
  }

  /** @param {MeshLocalTrack} local */
  addLocal(local) {
    if (!this.sending || this.closed || !this.receives || this.senders.has(local.track)) return;
    this.senders.set(local.track, this.pc.addTrack(local.track, local.stream));
  }

  /**
   * @param {MediaStreamTrack} oldTrack
   * @param {MediaStreamTrack} newTrack
   */
  async replaceLocal(oldTrack, newTrack) {
    const sender = this.senders.get(oldTrack);
    if (!sender || this.closed) return;
    this.senders.delete(oldTrack);
    this.senders.set(newTrack, sender);
    await sender.replaceTrack(newTrack);
  }

  /** @param {MediaStreamTrack} track */
  removeLocal(track) {
    const sender = this.senders.get(track);
    if (!sender || this.closed) return;
    this.senders.delete(track);
    this.pc.removeTrack(sender);
  }

  /** Makes an offer for what changed (negotiationneeded). */
  async offer() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.sendDescription();
    } catch (err) {
      this.fail('could not make an offer', err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** @private */
  sendDescription() {
    const description = this.pc.localDescription;
    if (!description) return;
    if (description.type === 'offer') this.stats.offersSent++;
    else this.stats.answersSent++;
    this.host.relay(this.peerId, { description: description.toJSON(), streams: this.mesh.streamSources() });
  }

  /**
   * Queues a relay from the peer behind the ones before it.
   * @param {Record<string, unknown>} data
   */
  handle(data) {
    this.chain = this.chain.then(() => this.apply(data)).catch((err) => this.fail('could not apply what the peer sent', err));
  }

  /**
   * @private
   * @param {Record<string, unknown>} data
   */
  async apply(data) {
    if (this.closed) return;
    const description = data.description;
    if (isRecord(description)) {
      if ((description.type !== 'offer' && description.type !== 'answer') || typeof description.sdp !== 'string') {
        throw new SwitchboardError('protocol', 'a description that is neither an offer nor an answer with an sdp');
      }
      if (isRecord(data.streams)) {
        for (const [id, source] of Object.entries(data.streams)) {
          if (source === 'camera' || source === 'screen') this.remoteSources.set(id, source);
        }
      }
      await this.applyDescription({ type: description.type, sdp: description.sdp });
    } else if (isRecord(data.candidate)) {
      await this.addCandidate(/** @type {RTCIceCandidateInit} */ (data.candidate));
    } else if (data.ready === true) {
      this.sendTracks();
    }
  }

  /**
   * The heart of perfect negotiation.
   * @private
   * @param {RTCSessionDescriptionInit} description
   */
  async applyDescription(description) {
    const pc = this.pc;
    const collision = description.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    this.stats.received++;
    if (this.ignoreOffer) {
      this.stats.offersIgnored++;
      return;
    }
    await pc.setRemoteDescription(description); // rolls a crossing offer of ours back
    const queued = this.queued.splice(0);
    for (const candidate of queued) await this.addCandidate(candidate);
    if (description.type !== 'offer') return;
    await pc.setLocalDescription();
    this.sendDescription();
    this.sendTracks(); // a newcomer has answered the first offer: its turn to send
  }

  /**
   * @private
   * @param {RTCIceCandidateInit} candidate
   */
  async addCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      if (this.queued.length >= MAX_QUEUED_CANDIDATES) this.queued.shift();
      this.queued.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      if (!this.ignoreOffer) throw err; // candidates of an ignored offer fail, and that is fine
    }
  }

  /**
   * @private
   * @param {RTCTrackEvent} event
   */
  trackArrived(event) {
    const { track, transceiver } = event;
    const stream = event.streams[0] ?? new MediaStream([track]);
    const said = this.remoteSources.get(stream.id);
    /** @type {Source} */
    const source = track.kind === 'audio' ? 'microphone' : said === 'screen' ? 'screen' : 'camera';
    if (track.kind === 'audio' && said === 'screen') return; // screen audio is not shown
    /** @type {TrackInfo} */
    const info = { id: `${this.peerId}/${track.id}`, participant: this.peerId, kind: track.kind === 'audio' ? 'audio' : 'video', source };
    /** @type {RemoteTrack} */
    const remote = { mid: transceiver.mid ?? '', info, track, stream, receiver: event.receiver, path: 'mesh' };
    this.remote.set(track, remote);
    stream.addEventListener('removetrack', (e) => {
      const gone = this.remote.get(e.track);
      if (!gone) return;
      this.remote.delete(e.track);
      this.host.remoteTrackRemoved(gone);
    });
    this.host.remoteTrackAdded(remote);
  }

  /** Tracks received from this peer, with their mids. */
  remoteTracks() {
    return [...this.remote.values()].map((r) => ({ mid: r.mid, ...r.info }));
  }

  /**
   * @private
   * @param {string} what
   * @param {unknown} err
   */
  fail(what, err) {
    this.stats.lastError = `${what}: ${String(err)}`;
    if (this.closed || this.host.state !== 'joined') return;
    this.host.report(new SwitchboardError('negotiation-failed', `${what} (peer ${this.peerId}): ${String(err)}`, { cause: err }));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.holdTimer);
    for (const remote of this.remote.values()) this.host.remoteTrackRemoved(remote);
    this.remote.clear();
    this.pc.close();
    this.host.peerStateChanged(this.target, 'closed');
  }
}
