// @ts-check
/**
 * Signaling transports of the Switchboard client, and its error type. A transport
 * carries protocol messages and knows nothing of what they mean, so another one
 * (Server-Sent Events plus POST) can replace the WebSocket without touching the rest.
 *
 * @module transport
 */

/**
 * How a transport ended.
 * @typedef {object} TransportCloseInfo
 * @property {boolean} opened whether the transport was ever open
 * @property {number} code    WebSocket close code (1006 when there was none)
 * @property {string} reason
 */

/**
 * A signaling transport: carries protocol messages (plain objects) both ways.
 * `send` may be called before the transport is open: messages wait until it opens.
 * `onclose` is called at most once, and not after `close()` was called.
 * @typedef {object} Transport
 * @property {(message: object) => void} send
 * @property {() => void} close
 * @property {((message: unknown) => void) | null} onmessage
 * @property {((info: TransportCloseInfo) => void) | null} onclose
 * @property {((reconnecting: boolean) => void) | null} [onreconnecting]  for a
 *   transport that reconnects by itself: called when it starts and when it is back
 * @property {() => void} [drop]  for such a transport: take the connection for dead
 *   and reconnect
 */

/**
 * What a connection URL carries besides its path: the room about to be joined and a
 * join token, which a server with API keys checks before the connection opens
 * (browsers cannot set headers on WebSocket and EventSource requests).
 * @typedef {object} ConnectParams
 * @property {string} [room]
 * @property {string} [token]
 */

/**
 * Makes a transport for the page at `baseUrl`.
 * @typedef {(baseUrl: string, params?: ConnectParams) => Transport} TransportFactory
 */

/**
 * An error with a stable `code`: the server's error code (see docs/protocol.md), or one
 * of this module's: `unreachable`, `connection-lost`, `cannot-resume`, `timeout`, `closed`,
 * `bad-state`, `bad-request`, `protocol`, `ice-failed`, `negotiation-failed`.
 */
export class SwitchboardError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{re?: string, cause?: unknown}} [options]
   */
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchboardError';
    this.code = code;
    /** id of the request this error answers, when it answers one */
    this.re = options.re;
  }
}

/**
 * URL of the WebSocket endpoint for the page at `baseUrl`. The path is relative
 * (`ws` next to the page) so that a server mounted under a prefix works too.
 * @param {string} baseUrl
 * @param {ConnectParams} [params]
 */
export function webSocketUrl(baseUrl, params = {}) {
  const url = new URL('ws', baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  setConnectParams(url, params);
  return url.href;
}

/** How long a dropped WebSocket is retried: within the server's grace period (15 s). */
export const RECONNECT_FOR_MS = 12_000;
/** The first wait before reconnecting; each attempt that fails doubles it. */
const BACKOFF_FIRST_MS = 250;
/** The longest wait between two attempts. */
const BACKOFF_MAX_MS = 2_000;
/** Messages that may wait for a connection: a client reconnecting sends a few dozen
 * (candidates, pings, a restart); one that piles up more has lost its way. */
const MAX_WAITING = 1024;

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
 * Replaces url's query with params.
 * @param {URL} url
 * @param {ConnectParams} params
 */
function setConnectParams(url, params) {
  url.search = '';
  url.hash = '';
  if (params.room) url.searchParams.set('room', params.room);
  if (params.token) url.searchParams.set('token', params.token);
}

/**
 * {@link Transport} over one WebSocket: one JSON message per text frame. Its session
 * outlives the connection: it opens a resumable session (`resumable=1`; the server's
 * first message, `session`, carries the resume token) and counts the messages it
 * receives. When the socket drops without a close frame (code 1006: the network went away) it
 * reconnects with backoff, for {@link RECONNECT_FOR_MS}, with `resume=<token>` and
 * `last=<count>`; the server answers `resumed` and replays what was missed. Messages
 * sent meanwhile wait for the new connection. A close from the server (the session
 * ended, or cannot be resumed: code 1008 "cannot resume") ends the transport.
 * @implements {Transport}
 */
export class WebSocketTransport {
  /**
   * @param {string} url a ws: or wss: URL
   * @param {{resumable?: boolean}} [options] `resumable: false` makes a session that
   *   ends with its connection, as a server without resumable sessions has
   */
  constructor(url, { resumable = true } = {}) {
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
    this.socket = this.connect(resumable ? withQuery(url, { resumable: '1' }) : url);
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
    if (this.live) {
      this.socket.send(frame);
    } else if (this.waiting.length < MAX_WAITING) {
      this.waiting.push(frame);
    } else {
      this.end({ opened: this.opened, code: 1006, reason: 'too many messages waiting for the connection' });
      throw new SwitchboardError('closed', 'the connection to the server is closed');
    }
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
    this.socket.close(1000); // a socket still open or opening: the session ends with it
    this.onclose?.(info);
  }
}

/**
 * The error for a transport that ended without being asked to.
 * @param {TransportCloseInfo} info
 */
export function closeError(info) {
  if (!info.opened) {
    return new SwitchboardError('unreachable', 'Cannot reach the Switchboard server.');
  }
  const reason = info.reason ? `: ${info.reason}` : '';
  if (info.code === 1008 && info.reason === 'cannot resume') {
    return new SwitchboardError('cannot-resume', 'The connection was away too long to resume the session.');
  }
  switch (info.code) {
    case 1000: return new SwitchboardError('connection-lost', `The server closed the connection${reason}.`);
    case 1001: return new SwitchboardError('connection-lost', 'The server is shutting down or restarting.');
    case 1006: return new SwitchboardError('connection-lost', 'The connection to the server was lost.');
    case 1008: return new SwitchboardError('connection-lost', `The server closed the connection${reason || ': policy violation'}.`);
    case 1009: return new SwitchboardError('connection-lost', 'The server closed the connection: a message was too big.');
    default: return new SwitchboardError('connection-lost', `The connection to the server closed (code ${info.code}${reason}).`);
  }
}

/**
 * URL of the Server-Sent Events endpoint for the page at `baseUrl` (`sse` next to the
 * page, like {@link webSocketUrl}).
 * @param {string} baseUrl
 * @param {ConnectParams} [params]
 */
export function sseUrl(baseUrl, params = {}) {
  const url = new URL('sse', baseUrl);
  setConnectParams(url, params);
  return url.href;
}

/** Bodies up to this size are posted with `keepalive`, so that a leave sent as the
 * page goes away still leaves (browsers cap keepalive bodies at 64 KiB in all). */
const KEEPALIVE_MAX = 16 * 1024;

/**
 * {@link Transport} over Server-Sent Events (the server's messages) and one POST per
 * message of the client's. The stream's first event gives the session id and secret;
 * posts carry the secret and go out one at a time, in order (on close, what is left
 * goes at once). When the stream drops,
 * EventSource reconnects with Last-Event-ID and the server replays what was missed;
 * the transport ends only when the server ends the session or refuses to resume it.
 * @implements {Transport}
 */
export class SSETransport {
  /** @param {string} url an http: or https: URL of the stream */
  constructor(url) {
    /** @type {((message: unknown) => void) | null} */
    this.onmessage = null;
    /** @type {((info: TransportCloseInfo) => void) | null} */
    this.onclose = null;
    this.url = url;
    /** @type {string[]} messages sent before the session event */
    this.waiting = [];
    this.opened = false;
    this.ended = false;
    /** @type {{session: string, secret: string} | null} */
    this.session = null;
    /** @type {string[]} bodies waiting for the post in flight */
    this.queue = [];
    /** @type {Promise<void> | null} the post in flight */
    this.inflight = null;
    this.source = new EventSource(url);
    this.source.addEventListener('session', (event) => this.handleSession(/** @type {MessageEvent} */ (event)));
    this.source.addEventListener('end', (event) => this.handleEnd(/** @type {MessageEvent} */ (event)));
    this.source.onmessage = (event) => this.handleEvent(event);
    this.source.onerror = () => this.handleError();
  }

  /** @param {object} message */
  send(message) {
    if (this.ended) throw new SwitchboardError('closed', 'the connection to the server is closed');
    const body = JSON.stringify(message);
    if (this.session) {
      this.queue.push(body);
      this.pump();
    } else {
      this.waiting.push(body);
    }
  }

  /**
   * Posts what is still queued (a leave, say) at once, side by side rather than one
   * after another: the page may be going away, and a post that waits for another one
   * would never start. Then closes the stream.
   */
  close() {
    if (this.ended) return;
    this.ended = true;
    const posts = this.session ? this.queue.splice(0).map((body) => this.postOne(body)) : [];
    if (this.inflight) posts.push(this.inflight);
    void Promise.allSettled(posts).then(() => this.source.close());
  }

  /**
   * Starts the next queued post unless one is in flight: posts go out one at a time,
   * in order.
   * @private
   */
  pump() {
    if (this.inflight || this.ended) return;
    const body = this.queue.shift();
    if (body === undefined) return;
    this.inflight = this.postOne(body).finally(() => {
      this.inflight = null;
      this.pump();
    });
  }

  /**
   * @private
   * @param {string} body
   * @returns {Promise<void>}
   */
  async postOne(body) {
    const session = /** @type {{session: string, secret: string}} */ (this.session);
    // The post path is the stream's plus the session id; the token stays off it:
    // posts are bound to the session by its secret. The room stays on, for a
    // cluster to find the node of the session.
    const streamUrl = new URL(this.url);
    const room = streamUrl.searchParams.get('room');
    const query = room ? `?room=${encodeURIComponent(room)}` : '';
    const url = `${streamUrl.origin}${streamUrl.pathname}/${encodeURIComponent(session.session)}${query}`;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Authorization': `Bearer ${session.secret}`, 'Content-Type': 'application/json' },
        body,
        keepalive: body.length <= KEEPALIVE_MAX,
      });
      if (!response.ok) {
        const text = await response.text();
        this.end({ opened: true, code: 1008, reason: `message refused (${response.status}): ${text.slice(0, 200)}` });
      }
    } catch {
      if (!this.ended) this.end({ opened: true, code: 1006, reason: '' });
    }
  }

  /**
   * @private
   * @param {MessageEvent} event
   */
  handleSession(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      data = null;
    }
    if (!data || typeof data.session !== 'string' || typeof data.secret !== 'string') {
      this.source.close();
      this.end({ opened: false, code: 1002, reason: 'bad session event' });
      return;
    }
    this.session = { session: data.session, secret: data.secret };
    this.opened = true;
    this.queue.push(...this.waiting);
    this.waiting = [];
    this.pump();
  }

  /**
   * @private
   * @param {MessageEvent} event
   */
  handleEvent(event) {
    if (this.ended || typeof event.data !== 'string') return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('switchboard: ignoring an event that is not JSON');
      return;
    }
    this.onmessage?.(message);
  }

  /**
   * The server ended the session: no reconnecting.
   * @private
   * @param {MessageEvent} event
   */
  handleEnd(event) {
    this.source.close();
    let reason = '';
    try {
      reason = String(JSON.parse(event.data).reason ?? '');
    } catch { /* no reason given */ }
    this.end({ opened: true, code: 1000, reason });
  }

  /**
   * EventSource retries by itself while its state is CONNECTING; CLOSED means it gave
   * up (the server refused to resume the session, or never opened it).
   * @private
   */
  handleError() {
    if (this.source.readyState === EventSource.CLOSED) {
      this.end({ opened: this.opened, code: 1006, reason: '' });
    }
  }

  /**
   * @private
   * @param {TransportCloseInfo} info
   */
  end(info) {
    if (this.ended) return;
    this.ended = true;
    this.source.close();
    this.onclose?.(info);
  }
}

/**
 * The transport the page's address asks for: `?transport=sse` selects
 * {@link SSETransport}; anything else, the WebSocket.
 * @param {string} search  `location.search`
 * @returns {TransportFactory}
 */
export function transportFromQuery(search) {
  if (new URLSearchParams(search).get('transport') === 'sse') {
    return (base, params) => new SSETransport(sseUrl(base, params));
  }
  return (base, params) => new WebSocketTransport(webSocketUrl(base, params));
}
