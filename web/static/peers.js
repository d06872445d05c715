// @ts-check
/**
 * The two peer connections of a Switchboard session: the publisher (this side
 * offers) and the subscriber (the server offers). Each reaches the session only
 * through {@link PeerHost}.
 *
 * @module peers
 */

import { SwitchboardError } from './transport.js';
import { sendEncodingsFor } from './simulcast.js';

/** @import { ClientState, OfferedTrack, RemoteTrack, Source, Target, TrackInfo } from './switchboard.js' */

/**
 * What a peer connection needs from the session that owns it.
 * @typedef {object} PeerHost
 * @property {ClientState} state
 * @property {RTCIceServer[]} iceServers
 * @property {(message: Record<string, unknown> & {type: string}) => Promise<Record<string, unknown> & {type: string}>} request
 *   sends a request and resolves with its reply
 * @property {(message: object) => void} sendQuietly  sends unless the session is closing
 * @property {(err: SwitchboardError) => void} report  an error that belongs to no call
 * @property {(target: Target, state: RTCPeerConnectionState) => void} peerStateChanged
 * @property {(remote: RemoteTrack) => void} remoteTrackAdded
 * @property {(remote: RemoteTrack) => void} remoteTrackRemoved
 * @property {(track: MediaStreamTrack, source: Source) => void} localTrackEnded
 */

/**
 * Remote ICE candidates kept while the description they belong to has not arrived.
 * A server sends a handful; the bound only stops a misbehaving one from growing the
 * queue without end.
 */
const MAX_QUEUED_CANDIDATES = 256;

/**
 * Key of the remote MediaStream a track belongs to: the protocol's stream id
 * convention (participant id, or `<participant id>:screen` for a screen share).
 * @param {TrackInfo} info
 */
function streamKey(info) {
  return info.source === 'screen' ? `${info.participant}:screen` : info.participant;
}

/**
 * What one peer connection of a session shares: lazy creation, trickle ICE out,
 * and a queue for remote candidates that arrive before the remote description.
 */
class PeerSide {
  /**
   * @param {PeerHost} host
   * @param {Target} target
   */
  constructor(host, target) {
    this.host = host;
    this.target = target;
    /** @type {RTCPeerConnection | null} created on first use */
    this.pc = null;
    /** @type {RTCIceCandidateInit[]} */
    this.queued = [];
  }

  /** The peer connection, created on first call. */
  ensurePc() {
    if (this.pc) return this.pc;
    const pc = new RTCPeerConnection({ iceServers: this.host.iceServers, bundlePolicy: 'max-bundle' });
    pc.onicecandidate = (event) => {
      // A null candidate (or an empty one) only marks the end of gathering.
      if (!event.candidate || !event.candidate.candidate) return;
      this.host.sendQuietly({ type: 'candidate', target: this.target, candidate: event.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => this.host.peerStateChanged(this.target, pc.connectionState);
    this.pc = pc;
    return pc;
  }

  /** @param {RTCIceCandidateInit} candidate */
  addRemoteCandidate(candidate) {
    if (!candidate.candidate) return; // end of candidates: nothing to do
    if (!this.pc || !this.pc.remoteDescription) {
      if (this.queued.length >= MAX_QUEUED_CANDIDATES) this.queued.shift();
      this.queued.push(candidate);
      return;
    }
    this.pc.addIceCandidate(candidate).catch((err) => {
      this.host.report(new SwitchboardError('invalid-candidate',
        `${this.target}: the server's ICE candidate was not accepted`, { cause: err }));
    });
  }

  /** Applies the candidates that waited for the remote description. */
  flushCandidates() {
    const queued = this.queued;
    this.queued = [];
    for (const candidate of queued) this.addRemoteCandidate(candidate);
  }

  close() {
    this.pc?.close();
    this.pc = null;
    this.queued = [];
  }
}

/**
 * @typedef {object} LocalTrack
 * @property {MediaStreamTrack} track
 * @property {Source} source
 * @property {RTCRtpTransceiver} transceiver
 * @property {() => void} onEnded
 */

/**
 * The connection this client sends on. The client offers; negotiations run one at a
 * time, and changes made while one is in flight are folded into the next offer.
 */
export class PublisherConnection extends PeerSide {
  /** @param {PeerHost} host */
  constructor(host) {
    super(host, 'publisher');
    /** @type {Map<MediaStreamTrack, LocalTrack>} tracks being sent */
    this.local = new Map();
    /** @type {Array<{resolve: () => void, reject: (err: unknown) => void}>} callers waiting for the next offer */
    this.waiting = [];
    /** whether the negotiation loop runs */
    this.busy = false;
  }

  /**
   * Starts sending `track` on a new sendonly transceiver. A track is published once;
   * adding it again does nothing. Takes effect with the next negotiation.
   *
   * A transceiver is never reused for another track: the server refuses an m-line
   * that stopped sending and sends again (docs/protocol.md). Stopped transceivers
   * leave rejected m-lines that the browser recycles for new ones, so the offer does
   * not grow with every screen share started and stopped.
   * @param {MediaStreamTrack} track
   * @param {Source} source
   * @param {MediaStream} stream
   * @returns {Promise<boolean>} whether something changed
   */
  async add(track, source, stream) {
    if (this.local.has(track)) return false;
    const pc = this.ensurePc();
    const onEnded = () => this.host.localTrackEnded(track, source);
    // A camera goes out in simulcast layers (simulcast.js); anything else in one.
    const sendEncodings = sendEncodingsFor(track, source);
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], ...(sendEncodings ? { sendEncodings } : {}) });
    this.local.set(track, { track, source, transceiver, onEnded });
    track.addEventListener('ended', onEnded);
    return true;
  }

  /**
   * Stops sending `track`: its transceiver is stopped, which unpublishes it.
   * Takes effect with the next negotiation. The track itself is left running.
   * @param {MediaStreamTrack} track
   * @returns {boolean} whether something changed
   */
  remove(track) {
    const local = this.local.get(track);
    if (!local) return false;
    this.local.delete(track);
    track.removeEventListener('ended', local.onEnded);
    if (!this.pc || this.pc.signalingState === 'closed') return true;
    // Stopped, the transceiver's m-line is rejected in the next offer (which
    // unpublishes its track) and free for the browser to recycle.
    local.transceiver.stop();
    return true;
  }

  /**
   * The sender of the simulcast track that `publish-layers` names: the one on mid,
   * or, when the server names no mid, the only one sent in several layers.
   * @param {string} mid
   * @returns {RTCRtpSender | null}
   */
  layeredSender(mid) {
    const senders = [...this.local.values()]
      .filter((l) => (mid ? l.transceiver.mid === mid : l.transceiver.sender.getParameters().encodings.length > 1))
      .map((l) => l.transceiver.sender);
    return senders.length === 1 ? senders[0] : null;
  }

  /** @param {Source} source */
  tracksOf(source) {
    return [...this.local.values()].filter((l) => l.source === source).map((l) => l.track);
  }

  /**
   * Sends `newTrack` on `oldTrack`'s transceiver (RTCRtpSender.replaceTrack): no
   * negotiation. Neither track is stopped.
   * @param {MediaStreamTrack} oldTrack
   * @param {MediaStreamTrack} newTrack
   * @returns {Promise<boolean>} whether `oldTrack` was being sent
   */
  async replace(oldTrack, newTrack) {
    const local = this.local.get(oldTrack);
    if (!local || this.local.has(newTrack)) return false;
    await local.transceiver.sender.replaceTrack(newTrack);
    oldTrack.removeEventListener('ended', local.onEnded);
    const onEnded = () => this.host.localTrackEnded(newTrack, local.source);
    newTrack.addEventListener('ended', onEnded);
    this.local.delete(oldTrack);
    this.local.set(newTrack, { ...local, track: newTrack, onEnded });
    return true;
  }

  /**
   * The `sources` field of a publish-offer: mid to source for every track sent.
   * Only valid after setLocalDescription, which assigns mids.
   */
  sources() {
    /** @type {Record<string, Source>} */
    const sources = {};
    for (const local of this.local.values()) {
      const mid = local.transceiver.mid;
      if (mid !== null) sources[mid] = local.source;
    }
    return sources;
  }

  /**
   * Brings the server up to date with the local tracks. Resolves once an offer made
   * after this call has been answered, or rejects with what made that offer fail.
   * Offers go out one at a time; calls made while one is out share the next.
   * @returns {Promise<void>}
   */
  negotiate() {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.busy) {
        this.busy = true;
        void this.negotiateLoop();
      }
    });
  }

  /**
   * Makes offers while callers wait. `busy` is cleared with no await between the
   * last check and the reset, so no call can slip in unserved.
   * @private
   */
  async negotiateLoop() {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      try {
        if (!this.pc) throw new SwitchboardError('closed', 'the publisher connection is closed');
        await this.offerOnce(this.pc);
        for (const waiter of batch) waiter.resolve();
      } catch (err) {
        for (const waiter of batch) waiter.reject(err);
      }
    }
    this.busy = false;
  }

  /**
   * One offer/answer exchange.
   * @private
   * @param {RTCPeerConnection} pc
   */
  async offerOnce(pc) {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const sdp = pc.localDescription?.sdp ?? '';
    try {
      const reply = await this.host.request({ type: 'publish-offer', sdp, sources: this.sources() });
      if (reply.type !== 'publish-answer' || typeof reply.sdp !== 'string') {
        throw new SwitchboardError('protocol', `publish-offer was answered by "${reply.type}" without an sdp`);
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
    } catch (err) {
      // Leave the connection ready for the next offer.
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
      throw err;
    }
    this.flushCandidates();
  }

  close() {
    for (const local of this.local.values()) local.track.removeEventListener('ended', local.onEnded);
    this.local.clear();
    super.close();
  }
}

/**
 * The connection this client receives on. The server offers, this side answers;
 * offers are handled one at a time in arrival order.
 */
export class SubscriberConnection extends PeerSide {
  /** @param {PeerHost} host */
  constructor(host) {
    super(host, 'subscriber');
    /** @type {Map<string, RemoteTrack>} by mid */
    this.remote = new Map();
    /** @type {Map<string, MediaStream>} by stream key, see streamKey */
    this.streams = new Map();
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    /** counts closes: an offer queued before a close is not answered after it */
    this.generation = 0;
  }

  /**
   * Queues a subscribe-offer to be answered after the ones before it.
   * @param {string} sdp
   * @param {OfferedTrack[]} tracks
   */
  handleOffer(sdp, tracks) {
    const generation = this.generation;
    this.chain = this.chain.then(() => (generation === this.generation ? this.answer(sdp, tracks) : undefined)).catch((err) => {
      if (this.host.state !== 'joined' || generation !== this.generation) return;
      this.host.report(err instanceof SwitchboardError ? err
        : new SwitchboardError('negotiation-failed', `could not answer the server's offer: ${String(err)}`, { cause: err }));
    });
  }

  /**
   * @private
   * @param {string} sdp
   * @param {OfferedTrack[]} tracks
   */
  async answer(sdp, tracks) {
    if (this.host.state !== 'joined') return; // the session ended while this offer waited
    const pc = this.ensurePc();
    /** @type {Map<string, OfferedTrack>} */
    const offered = new Map(tracks.map((t) => [t.mid, t]));
    // Tracks gone from the offer (or replaced on their m-line) are reported before
    // the new ones, so an application never sees one track object twice at once.
    for (const [mid, remote] of this.remote) {
      if (offered.get(mid)?.id !== remote.info.id) this.dropRemote(mid, remote);
    }
    await pc.setRemoteDescription({ type: 'offer', sdp });
    this.flushCandidates();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.host.sendQuietly({ type: 'subscribe-answer', sdp: pc.localDescription?.sdp ?? '' });
    for (const transceiver of pc.getTransceivers()) {
      const mid = transceiver.mid;
      const info = mid === null ? undefined : offered.get(mid);
      if (mid === null || !info || this.remote.has(mid)) continue;
      this.addRemote(mid, info, transceiver.receiver);
    }
  }

  /**
   * @private
   * @param {string} mid
   * @param {OfferedTrack} offered
   * @param {RTCRtpReceiver} receiver
   */
  addRemote(mid, offered, receiver) {
    const track = receiver.track;
    /** @type {TrackInfo} */
    const info = { id: offered.id, participant: offered.participant, kind: offered.kind, source: offered.source };
    const key = streamKey(info);
    let stream = this.streams.get(key);
    if (!stream) {
      stream = new MediaStream();
      this.streams.set(key, stream);
    }
    stream.addTrack(track);
    /** @type {RemoteTrack} */
    const remote = { mid, info, track, stream, receiver, path: 'sfu' };
    this.remote.set(mid, remote);
    this.host.remoteTrackAdded(remote);
  }

  /**
   * @private
   * @param {string} mid
   * @param {RemoteTrack} remote
   */
  dropRemote(mid, remote) {
    this.remote.delete(mid);
    remote.stream.removeTrack(remote.track);
    if (remote.stream.getTracks().length === 0) this.streams.delete(streamKey(remote.info));
    this.host.remoteTrackRemoved(remote);
  }

  /**
   * Closes the connection while the session goes on (an auto room left SFU mode):
   * every remote track is reported removed first.
   */
  closeReporting() {
    for (const [mid, remote] of [...this.remote]) this.dropRemote(mid, remote);
    this.close();
  }

  close() {
    this.generation++;
    this.remote.clear();
    this.streams.clear();
    super.close();
  }
}
