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
 * of this module's: `unreachable`, `connection-lost`, `timeout`, `closed`, `bad-state`,
 * `bad-request`, `protocol`, `ice-failed`, `negotiation-failed`.
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
 * {@link Transport} over one WebSocket: one JSON message per text frame.
 * @implements {Transport}
 */
export class WebSocketTransport {
  /** @param {string} url a ws: or wss: URL */
  constructor(url) {
    /** @type {((message: unknown) => void) | null} */
    this.onmessage = null;
    /** @type {((info: TransportCloseInfo) => void) | null} */
    this.onclose = null;
    this.url = url;
    /** @type {string[]} frames sent before the socket opened */
    this.waiting = [];
    this.opened = false;
    this.ended = false;
    this.socket = new WebSocket(url);
    this.socket.onopen = () => this.handleOpen();
    this.socket.onmessage = (event) => this.handleFrame(event);
    this.socket.onclose = (event) => this.end({ opened: this.opened, code: event.code, reason: event.reason });
  }

  /** @param {object} message */
  send(message) {
    if (this.ended) throw new SwitchboardError('closed', 'the connection to the server is closed');
    const frame = JSON.stringify(message);
    if (this.opened) this.socket.send(frame);
    else this.waiting.push(frame);
  }

  close() {
    if (this.ended) return;
    this.ended = true;
    // Frames already handed to send() go out before the close frame.
    this.socket.close(1000);
  }

  /** @private */
  handleOpen() {
    this.opened = true;
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
    this.onmessage?.(message);
  }

  /**
   * @private
   * @param {TransportCloseInfo} info
   */
  end(info) {
    if (this.ended) return;
    this.ended = true;
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
