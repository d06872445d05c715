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
 * Makes a transport for the page at `baseUrl`.
 * @typedef {(baseUrl: string) => Transport} TransportFactory
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
 */
export function webSocketUrl(baseUrl) {
  const url = new URL('ws', baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.href;
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
