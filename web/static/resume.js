// @ts-check
/**
 * Staying in the call across network changes, media side: the restart of ICE on a
 * media connection that stays down (docs/protocol.md, "ICE restarts"). The signaling
 * side, a WebSocket that resumes its session, is WebSocketTransport (transport.js).
 *
 * @module resume
 */

/** @import { ClientState, Target } from './switchboard.js' */

/** How long a media connection may stay `disconnected` before ICE restarts: a short
 * loss comes back by itself, a network that changed does not. A `failed` one restarts
 * at once. */
export const ICE_DOWN_MS = 2_000;
/** While a connection stays down after a restart, the next one comes this much later. */
const ICE_RETRY_MS = 3_000;
/** For this long after the signaling came back from a drop, a connection that is or
 * goes down restarts at once: the network has changed, its old path is likely gone,
 * and the server gives up on a connection silent for 9 s that is not restarted within
 * 10 s more. */
const NETWORK_CHANGED_MS = 10_000;

/**
 * What the ICE restarts need from the session: its state, its two connections, a way
 * to send, and to hear that `restarting()` may have changed.
 * @typedef {object} IceRestartHost
 * @property {ClientState} state
 * @property {{pc: RTCPeerConnection | null, negotiate: () => Promise<void>}} publisher
 * @property {{pc: RTCPeerConnection | null}} subscriber
 * @property {(message: object) => void} sendQuietly
 * @property {() => void} restartingChanged
 */

/**
 * Restarts ICE on a connection that stays `disconnected` for {@link ICE_DOWN_MS} or
 * goes `failed` (at once, for a while after the signaling came back from a drop:
 * networkChanged), and again every few seconds while it stays down.
 */
export class IceRestarter {
  /** @param {IceRestartHost} host */
  constructor(host) {
    this.host = host;
    /** @type {Map<Target, ReturnType<typeof setTimeout>>} */
    this.timers = new Map();
    /** @type {Set<Target>} connections restarted and not connected since */
    this.pending = new Set();
    /** how many restarts were made */
    this.count = 0;
    /** until when a connection that goes down restarts at once (networkChanged) */
    this.hurryUntil = 0;
  }

  /**
   * The signaling came back from a drop: the network changed. Connections that are
   * down restart now, and those that go down soon restart without waiting.
   */
  networkChanged() {
    this.hurryUntil = Date.now() + NETWORK_CHANGED_MS;
    for (const target of /** @type {Target[]} */ (['publisher', 'subscriber'])) {
      const state = (target === 'publisher' ? this.host.publisher.pc : this.host.subscriber.pc)?.connectionState;
      if ((state === 'disconnected' || state === 'failed') && !this.pending.has(target)) this.schedule(target, 0);
    }
  }

  /** Whether a restart is in progress: a connection restarted and not back yet. */
  restarting() {
    return this.pending.size > 0;
  }

  /**
   * A connection's state changed.
   * @param {Target} target
   * @param {RTCPeerConnectionState} state
   */
  changed(target, state) {
    if (state === 'disconnected') {
      if (!this.timers.has(target)) this.schedule(target, Date.now() < this.hurryUntil ? 0 : ICE_DOWN_MS);
      return;
    }
    if (state === 'failed') {
      if (!this.pending.has(target)) this.schedule(target, 0);
      return;
    }
    if (state === 'connecting' || state === 'new') return; // a restart under way
    this.cancel(target);
    if (this.pending.delete(target)) this.host.restartingChanged();
  }

  /**
   * @private
   * @param {Target} target
   * @param {number} delay
   */
  schedule(target, delay) {
    this.cancel(target);
    this.timers.set(target, setTimeout(() => this.restart(target), delay));
  }

  /**
   * @private
   * @param {Target} target
   */
  restart(target) {
    this.timers.delete(target);
    const pc = target === 'publisher' ? this.host.publisher.pc : this.host.subscriber.pc;
    const state = pc?.connectionState;
    if (!pc || this.host.state !== 'joined' || state === 'connected' || state === 'closed') return;
    this.count++;
    if (!this.pending.has(target)) {
      this.pending.add(target);
      this.host.restartingChanged();
    }
    if (target === 'subscriber') {
      // The server offers on the subscriber connection: ask it for a restart.
      this.host.sendQuietly({ type: 'restart-ice', target: 'subscriber' });
    } else {
      pc.restartIce(); // the next offer carries new ICE credentials
      this.host.publisher.negotiate().catch((err) => {
        console.warn('switchboard: ICE restart of the publisher failed; trying again', err);
      });
    }
    this.timers.set(target, setTimeout(() => this.restart(target), ICE_RETRY_MS));
  }

  /**
   * @private
   * @param {Target} target
   */
  cancel(target) {
    clearTimeout(this.timers.get(target));
    this.timers.delete(target);
  }

  close() {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
  }
}
