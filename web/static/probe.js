// The connectivity self-test, without DOM code: asks the server what it announces
// (GET v1/connectivity) and tries each path to it with a throwaway peer connection
// to the server's echo peer (POST v1/connectivity/echo), which sends back what
// the page sends on a data channel.

/**
 * What the server announces.
 * @typedef {object} ConnectivityInfo
 * @property {string[]} addresses   addresses of the server's candidates
 * @property {number} udpPort       the media's UDP port (0: a port per connection)
 * @property {number} iceTcpPort    the ICE-TCP port (0: none)
 * @property {string[]} turn        URLs of the built-in TURN server
 * @property {RTCIceServer[]} iceServers  what a client joining now gets
 * @property {string} echo          where to POST an offer, relative to the root
 */

/**
 * A path to try.
 * @typedef {'udp' | 'tcp' | 'turn-udp' | 'turn-tcp' | 'turn-tls'} PathName
 */

/**
 * The outcome of one path.
 * @typedef {object} PathResult
 * @property {PathName} path
 * @property {'ok' | 'failed' | 'unavailable'} result  unavailable: the server offers no such path
 * @property {string} detail   what was seen (the candidate pair used, or why it failed)
 */

/** How long one path may take to carry an echo. */
const PATH_TIMEOUT_MS = 8000;

/** How long the page waits for its own candidates before it sends its offer. */
const GATHER_TIMEOUT_MS = 3000;

/** @type {PathName[]} */
export const PATHS = ['udp', 'tcp', 'turn-udp', 'turn-tcp', 'turn-tls'];

/**
 * @param {string} token  a join token, or ''
 * @returns {Record<string, string>}
 */
function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * Asks the server what it announces.
 * @param {URL} base  the server's root
 * @param {string} token
 * @returns {Promise<ConnectivityInfo>}
 */
export async function fetchInfo(base, token) {
  const res = await fetch(new URL('v1/connectivity', base), { headers: authHeaders(token) });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  }
  return /** @type {ConnectivityInfo} */ (await res.json());
}

/**
 * The TURN URL of a path, or '' when the server offers none.
 * @param {ConnectivityInfo} info
 * @param {PathName} path
 */
function turnURL(info, path) {
  const want = { 'turn-udp': /^turn:.*transport=udp/, 'turn-tcp': /^turn:.*transport=tcp/, 'turn-tls': /^turns:/ }[
    /** @type {'turn-udp' | 'turn-tcp' | 'turn-tls'} */ (path)];
  return info.turn.find((u) => want.test(u)) ?? '';
}

/**
 * The configuration of a path's connection: a TURN path relays through that URL
 * only, with the credentials the server handed out for it.
 * @param {ConnectivityInfo} info
 * @param {PathName} path
 * @returns {RTCConfiguration | null}  null: the server offers no such path
 */
export function configFor(info, path) {
  if (path === 'udp') return info.udpPort ? { iceServers: [] } : null;
  if (path === 'tcp') return info.iceTcpPort ? { iceServers: [] } : null;
  const url = turnURL(info, path);
  const server = info.iceServers.find((s) => [s.urls].flat().includes(url));
  if (!url || !server) return null;
  return { iceServers: [{ urls: url, username: server.username, credential: server.credential }], iceTransportPolicy: 'relay' };
}

/**
 * Keeps only the candidates of an offer or answer that a path may use: UDP ones for
 * udp, TCP ones for tcp, all for the TURN paths (their relay reaches the server's
 * UDP). Both sides are filtered: given the page's UDP candidates, the server would
 * check them from its UDP port, and the TCP path would succeed over UDP.
 * @param {string} sdp
 * @param {PathName} path
 */
export function filterCandidates(sdp, path) {
  if (path !== 'udp' && path !== 'tcp') return sdp;
  return sdp
    .split('\r\n')
    .filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      return line.split(' ')[2]?.toLowerCase() === path;
    })
    .join('\r\n');
}

/**
 * Waits until pc has gathered its candidates, or GATHER_TIMEOUT_MS.
 * @param {RTCPeerConnection} pc
 */
function gathered(pc) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve(undefined);
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  });
}

/**
 * Describes the candidate pair pc uses: "udp host", "tcp host", "relay via udp".
 * @param {RTCPeerConnection} pc
 */
async function selectedPair(pc) {
  const stats = await pc.getStats();
  /** @type {any} */
  let pair;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) {
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
  }
  const local = pair && stats.get(pair.localCandidateId);
  const remote = pair && stats.get(pair.remoteCandidateId);
  if (!local || !remote) return { type: '', protocol: '', relayProtocol: '', text: 'no candidate pair' };
  const via = local.candidateType === 'relay' ? ` (relay via ${local.relayProtocol})` : '';
  return { type: String(local.candidateType), protocol: String(local.protocol), relayProtocol: String(local.relayProtocol ?? ''),
    text: `${local.protocol} to ${remote.address || 'the server'}:${remote.port}${via}` };
}

/**
 * Reports whether a connection's candidate pair is the path's: UDP or TCP from a
 * host candidate, or a relay reached over the path's transport.
 * @param {{type: string, protocol: string, relayProtocol: string}} pair
 * @param {PathName} path
 */
function usesPath(pair, path) {
  if (path === 'udp' || path === 'tcp') return pair.type !== 'relay' && pair.protocol === path;
  return pair.type === 'relay' && pair.relayProtocol === { 'turn-udp': 'udp', 'turn-tcp': 'tcp', 'turn-tls': 'tls' }[path];
}

/**
 * Tries one path: a connection to the echo peer that must carry a message there
 * and back within PATH_TIMEOUT_MS.
 * @param {URL} base
 * @param {ConnectivityInfo} info
 * @param {PathName} path
 * @param {string} token
 * @returns {Promise<PathResult>}
 */
export async function tryPath(base, info, path, token) {
  const config = configFor(info, path);
  if (!config) return { path, result: 'unavailable', detail: 'the server offers no such path' };
  const pc = new RTCPeerConnection(config);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  try {
    const dc = pc.createDataChannel('echo');
    const echoed = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no echo within ${PATH_TIMEOUT_MS / 1000} s (ICE ${pc.iceConnectionState})`)), PATH_TIMEOUT_MS);
      dc.onopen = () => dc.send('ping');
      dc.onmessage = (ev) => (ev.data === 'ping' ? resolve(undefined) : reject(new Error('a wrong echo')));
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const res = await fetch(new URL(info.echo, base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', ...authHeaders(token) },
      body: filterCandidates(pc.localDescription?.sdp ?? '', path),
    });
    if (res.status !== 201) throw new Error(`the echo peer: HTTP ${res.status}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: filterCandidates(await res.text(), path) });
    await echoed;
    const pair = await selectedPair(pc);
    if (!usesPath(pair, path)) return { path, result: 'failed', detail: `connected another way: ${pair.text}` };
    return { path, result: 'ok', detail: pair.text };
  } catch (err) {
    return { path, result: 'failed', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    pc.close();
  }
}
