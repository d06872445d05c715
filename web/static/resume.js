// @ts-check
/**
 * Staying in the call across network changes: a WebSocket transport that resumes its
 * session when the connection drops, and the restart of ICE on a media connection
 * that stays down. docs/protocol.md, "Resuming a session" and "ICE restarts".
 *
 * @module resume
 */

import { SwitchboardError } from './transport.js';

/** @import { Transport, TransportCloseInfo } from './transport.js' */
/** @import { Target } from './switchboard.js' */

/** How long a dropped WebSocket is retried: within the server's grace period (15 s). */
export const RECONNECT_FOR_MS = 12_000;
/** The first wait before reconnecting; each attempt that fails doubles it. */
const BACKOFF_FIRST_MS = 250;
/** The longest wait between two attempts. */
const BACKOFF_MAX_MS = 2_000;

/** How long a media connection may stay `disconnected` before ICE restarts: a short
 * loss comes back by itself, a network that changed does not. A `failed` one restarts
 * at once. */
export const ICE_DOWN_MS = 2_000;
/** While a connection stays down after a restart, the next one comes this much later. */
const ICE_RETRY_MS = 3_000;

/**
 * `url` with `params` set in its query.
 * @param {string} url
 * @param {Record<string, string>} params
 */
function withQuery(url, params) {
  const u = new URL(url);
  for (const [key, value] of Object.entries(params)) u.searchParams.set(key, value);
  return u.href;
}

/**
 * A {@link Transport} over a WebSocket whose session outlives
 * the connection. It opens a resumable session (`resumable=1`; the server's first
 * message, `session`, carries the resume token) and counts the messages it receives.
 * When the socket drops without a close frame (code 1006: the network went away) it
 * reconnects with backoff, for {@link RECONNECT_FOR_MS}, with `resume=<token>` and
 * `last=<count>`; the server answers `resumed` and replays what was missed. Messages
 * sent meanwhile wait for the new connection. A close from the server (the session
 * ended, or cannot be resumed: code 1008 "cannot resume") ends the transport.
 * @implements {Transport}
 */
export class ResumingWebSocketTransport {
  /** @param {string} url a ws: or wss: URL */
  constructor(url) {
    /** @type {((message: unknown) => void) | null} */
    this.onmessage = null;
    /** @type {((info: TransportCloseInfo) => void) | null} */
    this.onclose = null;
    /** @type {((reconnecting: boolean) => void) | null} called when a reconnection starts and when it has resumed */
    this.onreconnecting = null;
    this.url = url;
    /** @type {string[]} frames waiting for a connection */
    this.waiting = [];
    /** whether a connection is open and the session on it */
    this.live = false;
    this.opened = false;
    this.ended = false;
    this.reconnecting = false;
    /** the resume token, from the session message */
    this.token = '';
    /** messages of the session received (transport messages not counted) */
    this.received = 0;
    /** how many times the session resumed */
    this.resumes = 0;
    this.deadline = 0;
    this.backoff = BACKOFF_FIRST_MS;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {WebSocket} */
    this.socket = this.connect(withQuery(url, { resumable: '1' }));
  }

  /**
   * Opens a socket; its events count only while it is the current one.
   * @private
   * @param {string} url
   */
  connect(url) {
    const socket = new WebSocket(url);
    socket.onopen = () => {
      if (socket !== this.socket || this.ended || this.reconnecting) return;
      this.opened = true;
      this.goLive(); // a new session: what was sent before the open goes now
    };
    socket.onmessage = (event) => { if (socket === this.socket) this.handleFrame(event); };
    socket.onclose = (event) => { if (socket === this.socket) this.handleClose(event); };
    this.socket = socket;
    return socket;
  }

  /** @param {object} message */
  send(message) {
    if (this.ended) throw new SwitchboardError('closed', 'the connection to the server is closed');
    const frame = JSON.stringify(message);
    if (this.live) this.socket.send(frame);
    else this.waiting.push(frame);
  }

  close() {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    // A close frame: the server ends the session at once rather than waiting.
    this.socket.close(1000);
  }

  /**
   * Takes the current connection for dead (pings go unanswered) and reconnects.
   */
  drop() {
    if (this.ended || this.reconnecting || !this.token) return;
    const socket = this.socket;
    socket.onclose = null;
    socket.close(); // this socket's events no longer count
    this.reconnect();
  }

  /** @private */
  goLive() {
    this.live = true;
    for (const frame of this.waiting) this.socket.send(frame);
    this.waiting = [];
  }

  /**
   * @private
   * @param {MessageEvent} event
   */
  handleFrame(event) {
    if (this.ended || typeof event.data !== 'string') return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('switchboard: ignoring a frame that is not JSON');
      return;
    }
    const type = typeof message === 'object' && message !== null ? message.type : undefined;
    if (type === 'session') {
      this.token = typeof message.resume === 'string' ? message.resume : '';
      return;
    }
    if (type === 'resumed') {
      this.resumed();
      return;
    }
    this.received++;
    this.onmessage?.(message);
  }

  /** @private */
  resumed() {
    this.reconnecting = false;
    this.backoff = BACKOFF_FIRST_MS;
    this.resumes++;
    this.goLive();
    this.onreconnecting?.(false);
  }

  /**
   * A socket closed: a network failure (1006) of a resumable session reconnects;
   * anything else ends the transport.
   * @private
   * @param {CloseEvent} event
   */
  handleClose(event) {
    if (this.ended) return;
    this.live = false;
    if (event.code === 1006 && this.token) {
      this.reconnect();
      return;
    }
    this.end({ opened: this.opened, code: event.code, reason: event.reason });
  }

  /**
   * Schedules the next attempt, or gives up past the deadline.
   * @private
   */
  reconnect() {
    this.live = false;
    if (!this.reconnecting) {
      this.reconnecting = true;
      this.deadline = Date.now() + RECONNECT_FOR_MS;
      this.onreconnecting?.(true);
    }
    if (Date.now() > this.deadline) {
      this.end({ opened: true, code: 1006, reason: '' });
      return;
    }
    const wait = this.backoff;
    this.backoff = Math.min(2 * this.backoff, BACKOFF_MAX_MS);
    this.timer = setTimeout(() => {
      if (this.ended) return;
      this.connect(withQuery(this.url, { resume: this.token, last: String(this.received) }));
    }, wait);
  }

  /**
   * @private
   * @param {TransportCloseInfo} info
   */
  end(info) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.onclose?.(info);
  }
}

/**
 * What the ICE restarts need from the session.
 * @typedef {object} IceRestartHost
 * @property {(target: Target) => void} restartIce  restarts ICE on the connection
 * @property {(target: Target) => RTCPeerConnectionState | null} connectionState
 * @property {() => void} restartingChanged  `restarting()` may have changed
 */

/**
 * Restarts ICE on a connection that stays `disconnected` for {@link ICE_DOWN_MS} or
 * goes `failed`, and again every few seconds while it stays down.
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
      if (!this.timers.has(target)) this.schedule(target, ICE_DOWN_MS);
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
    const state = this.host.connectionState(target);
    if (state === null || state === 'connected' || state === 'closed') return;
    this.count++;
    if (!this.pending.has(target)) {
      this.pending.add(target);
      this.host.restartingChanged();
    }
    this.host.restartIce(target);
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
