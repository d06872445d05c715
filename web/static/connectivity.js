// The connectivity page: runs the self-test of probe.js and shows, for each path
// to the server, whether it worked and what to change when it did not.

import { PATHS, fetchInfo, tryPath } from './probe.js';

/** @typedef {import('./probe.js').PathName} PathName */
/** @typedef {import('./probe.js').ConnectivityInfo} ConnectivityInfo */
/** @typedef {import('./probe.js').PathResult} PathResult */

/** @type {Record<PathName, string>} */
const LABELS = {
  udp: 'UDP (direct)',
  tcp: 'TCP (direct, ICE-TCP)',
  'turn-udp': 'TURN relay over UDP',
  'turn-tcp': 'TURN relay over TCP',
  'turn-tls': 'TURN relay over TLS',
};

/**
 * What to change when a path failed.
 * @param {PathName} path
 * @param {ConnectivityInfo} info
 */
function advice(path, info) {
  const at = info.addresses.join(', ') || 'the server';
  switch (path) {
    case 'udp':
      return `UDP to port ${info.udpPort} of ${at} is blocked on this network: calls fall back to TCP or TURN, with more delay. Allow UDP to that port in the firewall.`;
    case 'tcp':
      return `TCP to port ${info.iceTcpPort} of ${at} is blocked: allow it, or rely on TURN.`;
    default:
      return 'The TURN server cannot be reached this way: check that its port is open and, for TLS, that its certificate is valid for its host name.';
  }
}

/**
 * Shows one path's outcome in its row.
 * @param {PathResult} r
 * @param {ConnectivityInfo} info
 */
function show(r, info) {
  const row = /** @type {HTMLElement} */ (document.getElementById(`path-${r.path}`));
  row.dataset.result = r.result;
  const status = /** @type {HTMLElement} */ (row.querySelector('.result'));
  status.textContent = { ok: 'works', failed: 'fails', unavailable: 'not offered' }[r.result];
  const detail = /** @type {HTMLElement} */ (row.querySelector('.detail'));
  detail.textContent = r.result === 'failed' ? `${r.detail}. ${advice(r.path, info)}` : r.detail;
}

/** Builds the table's rows, each "checking" until its path is tried. */
function rows() {
  const body = /** @type {HTMLElement} */ (document.getElementById('paths'));
  for (const path of PATHS) {
    const row = document.createElement('tr');
    row.id = `path-${path}`;
    row.dataset.result = 'checking';
    for (const [cls, text] of [['path', LABELS[path]], ['result', 'checking…'], ['detail', '']]) {
      const cell = document.createElement('td');
      cell.className = cls;
      cell.textContent = text;
      row.append(cell);
    }
    body.append(row);
  }
}

/**
 * Sums the outcome up.
 * @param {PathResult[]} results
 */
function summary(results) {
  const works = (/** @type {PathName} */ p) => results.some((r) => r.path === p && r.result === 'ok');
  if (works('udp')) return 'Calls will work from this network, directly over UDP.';
  if (works('tcp') || works('turn-udp') || works('turn-tcp') || works('turn-tls')) {
    return 'Calls will work from this network, but not over direct UDP: expect more delay.';
  }
  return 'No path to the server works from this network: calls will not connect.';
}

async function main() {
  const base = new URL('./', location.href);
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const state = /** @type {HTMLElement} */ (document.getElementById('summary'));
  rows();
  /** @type {ConnectivityInfo} */
  let info;
  try {
    info = await fetchInfo(base, token);
  } catch (err) {
    state.textContent = `The server did not answer: ${err instanceof Error ? err.message : err}`;
    state.dataset.state = 'error';
    return;
  }
  const announced = /** @type {HTMLElement} */ (document.getElementById('announced'));
  announced.textContent = `Addresses ${info.addresses.join(', ') || 'none'}; UDP port ${info.udpPort || 'per connection'}; ` +
    `ICE-TCP port ${info.iceTcpPort || 'none'}; TURN ${info.turn.join(', ') || 'none'}.`;
  /** @type {PathResult[]} */
  const results = [];
  for (const path of PATHS) {
    const r = await tryPath(base, info, path, token);
    results.push(r);
    show(r, info);
  }
  state.textContent = summary(results);
  state.dataset.state = 'done';
}

main();
