// One browser participant: its own context and page, and what tests read from it.

import assert from 'node:assert/strict';
import { waitFor } from './wait.js';

/** A room name no other test run uses. */
export function uniqueRoom(prefix = 'e2e') {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * @typedef {object} Participant
 * @property {string} name
 * @property {import('playwright-core').BrowserContext} context
 * @property {import('playwright-core').Page} page
 * @property {string[]} log   console errors and warnings, uncaught page errors and
 *   Content-Security-Policy violations seen so far
 * @property {() => Promise<string>} id  the participant id the server assigned
 */

/**
 * Opens a page of its own (separate browser context) at `url`.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string} name  label for logs
 * @param {{initScript?: () => void, timeout?: number}} [options] script run in the page
 *   before its own; bound of the page's loading (default 30 s)
 * @returns {Promise<Participant>}
 */
export async function openPage(browser, url, name, { initScript, timeout } = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  /** @type {string[]} */
  const log = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') log.push(`[${name} console.${message.type()}] ${message.text()}`);
  });
  page.on('pageerror', (err) => log.push(`[${name} pageerror] ${err.message}`));
  await page.exposeFunction('reportCspViolation', (/** @type {string} */ what) => log.push(`[${name} csp] ${what}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      // @ts-ignore: added by exposeFunction above
      window.reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`);
    });
  });
  await page.goto(url, timeout ? { timeout } : undefined);
  return {
    name,
    context,
    page,
    log,
    id: async () => {
      const id = await page.evaluate(() => window.switchboard?.self?.id ?? '');
      assert.ok(id, `${name} has no participant id (not joined)`);
      return id;
    },
  };
}

/**
 * Opens `/?room=..&name=..&autojoin=1` and waits for the page to say it joined.
 * @param {import('playwright-core').Browser} browser
 * @param {string} baseUrl
 * @param {string} room
 * @param {string} name
 * @param {{initScript?: () => void, params?: Record<string, string>, timeout?: number}} [options]
 *   params are added to the page's query (`{transport: 'sse'}`); timeout bounds the
 *   wait for the page to join (default 15 s)
 */
export async function joinByLink(browser, baseUrl, room, name, options) {
  const url = new URL(baseUrl);
  url.search = new URLSearchParams({ room, name, autojoin: '1', ...options?.params }).toString();
  const participant = await openPage(browser, url.href, name, options);
  await waitFor(`${name} to join ${room}`, async () => {
    const state = await participant.page.getAttribute('#state', 'data-state');
    const notices = await participant.page.locator('.notice').allTextContents();
    assert.equal(state, 'joined', `state is ${state}; notices: ${JSON.stringify(notices)}`);
  }, { timeout: options?.timeout ?? 15_000 });
  return participant;
}

/**
 * Video counters per remote track, keyed `<participant id>/<source>`: `decoded` is
 * framesDecoded of its inbound-rtp stats on the connection that receives it (the
 * subscriber connection in an SFU room, the connection to its peer in a mesh room);
 * `played` is totalVideoFrames of the tile's <video> that shows it (0 when there is
 * none).
 * @param {import('playwright-core').Page} page
 * @returns {Promise<Record<string, {decoded: number, played: number}>>}
 */
export function videoCounters(page) {
  return page.evaluate(async () => {
    /** @type {Record<string, {decoded: number, played: number}>} */
    const out = {};
    const client = window.switchboard;
    if (!client) return out;
    /** @type {Array<{pc: RTCPeerConnection, tracks: Array<{mid: string, participant: string, source: string}>}>} */
    const connections = [];
    if (client.mesh) {
      for (const peer of client.mesh.peers.values()) connections.push({ pc: peer.pc, tracks: peer.remoteTracks() });
    } else if (client.subscriberConnection) {
      connections.push({ pc: client.subscriberConnection, tracks: client.remoteTracks() });
    }
    for (const { pc, tracks } of connections) {
      const byMid = new Map(tracks.map((t) => [t.mid, t]));
      const stats = await pc.getStats();
      stats.forEach((report) => {
        if (report.type !== 'inbound-rtp' || report.kind !== 'video') return;
        const track = byMid.get(report.mid);
        if (!track) return;
        // An m-line reused for a new track can leave the old SSRC's report behind:
        // the sum grows exactly when some stream of the track is being decoded.
        const key = `${track.participant}/${track.source}`;
        out[key] ??= { decoded: 0, played: 0 };
        out[key].decoded += report.framesDecoded ?? 0;
      });
    }
    for (const video of document.querySelectorAll('.tile.remote video')) {
      const tile = video.closest('.tile');
      if (!(tile instanceof HTMLElement) || !(video instanceof HTMLVideoElement)) continue;
      const key = `${tile.dataset.participant}/${tile.dataset.source}`;
      out[key] ??= { decoded: 0, played: 0 };
      out[key].played = video.getVideoPlaybackQuality().totalVideoFrames;
    }
    return out;
  });
}

/**
 * Waits until every key (`<participant id>/<source>`) has decoded and played frames,
 * then until both counts have grown, which shows that video keeps flowing.
 * @param {Participant} viewer
 * @param {string[]} keys
 * @param {{timeout?: number, growTimeout?: number}} [options] bounds of the two waits
 */
export async function expectVideoFlowing(viewer, keys, { timeout = 30_000, growTimeout = 15_000 } = {}) {
  const first = await waitFor(`${viewer.name} to decode and play ${keys.join(', ')}`, async () => {
    const counters = await videoCounters(viewer.page);
    for (const key of keys) {
      const c = counters[key];
      assert.ok(c && c.decoded > 0 && c.played > 0, `${key}: ${c ? JSON.stringify(c) : 'no inbound video'}; have ${JSON.stringify(counters)}`);
    }
    return counters;
  }, { timeout });
  await waitFor(`${viewer.name}'s frame counts for ${keys.join(', ')} to grow`, async () => {
    const counters = await videoCounters(viewer.page);
    for (const key of keys) {
      const c = counters[key];
      const was = first[key];
      assert.ok(c && c.decoded > was.decoded && c.played > was.played,
        `${key}: was ${JSON.stringify(was)}, now ${c ? JSON.stringify(c) : 'gone'}`);
    }
  }, { timeout: growTimeout });
}

/**
 * Selector of a remote tile.
 * @param {string} participantId
 * @param {'camera' | 'screen'} source
 */
export function tileSelector(participantId, source) {
  return `.tile.remote[data-participant="${participantId}"][data-source="${source}"]`;
}

/**
 * Asserts that a page threw no uncaught error and broke no CSP rule.
 * @param {Participant} participant
 */
export function expectCleanLog(participant) {
  const bad = participant.log.filter((line) => / (pageerror|csp)\] /.test(line));
  assert.deepEqual(bad, [], `${participant.name}: uncaught errors or CSP violations`);
}
