// A WHEP player: one receive-only peer connection negotiated with one HTTP POST
// (the offer, with its candidates), ended with DELETE. No DOM code.

/** How long to wait for local ICE candidates before posting the offer without the rest. */
const GATHER_TIMEOUT_MS = 2000;

/**
 * @typedef {'connecting' | 'waiting' | 'playing' | 'failed' | 'closed'} WatchState
 */

export class WhepPlayer {
  /**
   * @param {string} endpoint  e.g. /whep/room
   * @param {(state: WatchState, detail?: string) => void} onState
   * @param {(stream: MediaStream) => void} onTrack  called when a track is added to stream
   * @param {string} [token]  a join token with the subscribe grant, sent as Bearer
   */
  constructor(endpoint, onState, onTrack, token = '') {
    this.endpoint = endpoint;
    this.token = token;
    this.onState = onState;
    this.onTrack = onTrack;
    /** @type {WatchState} */
    this.state = 'connecting';
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {string | null} absolute URL of the session, for DELETE */
    this.resource = null;
    this.stream = new MediaStream();
  }

  /**
   * Posts an offer. Resolves true when the server answered, false when the room has
   * nobody in it yet (404): the caller may try again.
   * @returns {Promise<boolean>}
   */
  async start() {
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (event) => {
      this.stream.addTrack(event.track);
      this.onTrack(this.stream);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') this.setState('playing');
      if (pc.connectionState === 'failed') this.setState('failed', 'the connection failed');
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    /** @type {Record<string, string>} */
    const headers = { 'Content-Type': 'application/sdp' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const resp = await fetch(this.endpoint, {
      method: 'POST',
      headers,
      body: pc.localDescription?.sdp ?? '',
    });
    if (resp.status === 404) {
      pc.close();
      this.pc = null;
      this.setState('waiting', await resp.text());
      return false;
    }
    if (resp.status !== 201) throw new Error(`the server refused: ${resp.status} ${await resp.text()}`);
    const location = resp.headers.get('Location');
    if (location) this.resource = new URL(location, window.location.href).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
    return true;
  }

  /** Ends the session; keepalive lets the DELETE outlive a closing page. */
  stop() {
    if (this.resource) {
      // With join tokens, only the session's owner may end it: the same token.
      /** @type {Record<string, string>} */
      const headers = {};
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      fetch(this.resource, { method: 'DELETE', headers, keepalive: true }).catch(() => {});
    }
    this.resource = null;
    this.pc?.close();
    this.setState('closed');
  }

  /**
   * @param {WatchState} state
   * @param {string} [detail]
   */
  setState(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }
}

/**
 * Resolves when pc has gathered its candidates, or after GATHER_TIMEOUT_MS.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<void>}
 */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
