// Staying in the call across a network change, in a real browser: the page's
// WebSocket drops and its media stops for 5 s; the page reconnects and resumes its
// session, restarts ICE where its media connections went down, keeps its participant
// id, and the other page never sees it leave.
//
// The signaling is cut by the TCP proxy (lib/proxy.js); the media by a tc filter on
// loopback that sends the UDP traffic of the server's one media port to an htb class
// that lets (almost) nothing through. This kernel has no drop action for tc filters
// (act_gact), and no netem: a class with a rate of 8 bit/s is the cut. It needs
// root in a network namespace of its own (scripts/test.sh runs the tests so).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { setTimeout as delay } from 'node:timers/promises';
import { startServer } from './lib/server.js';
import { startProxy } from './lib/proxy.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing, expectCleanLog } from './lib/participant.js';
import { waitFor } from './lib/wait.js';

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** @type {import('./lib/proxy.js').Proxy} */
let proxy;
/** @type {import('playwright-core').Browser} */
let browser;
/** the server's media port */
let mediaPort = 0;

/** A UDP port free on loopback now. */
async function freeUDPPort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(() => resolve(undefined)));
  return port;
}

/** @param {string[]} args */
function tc(...args) {
  execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Stops the UDP traffic to and from ports on loopback, until unblockUDP.
 * @param {number[]} ports
 */
function blockUDP(ports) {
  tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '1', 'r2q', '100000');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '8bit', 'ceil', '8bit');
  tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:2', 'handle', '2:', 'pfifo', 'limit', '1');
  for (const port of ports) {
    for (const field of ['sport', 'dport']) {
      tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32',
        'match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', field, String(port), '0xffff', 'classid', '1:2');
    }
  }
}

function unblockUDP() {
  try {
    tc('qdisc', 'del', 'dev', 'lo', 'root');
  } catch { /* not blocked */ }
}

before(async () => {
  mediaPort = await freeUDPPort();
  // Debug logs: a failure reports the server's last lines (layers, keyframe requests).
  server = await startServer({ args: ['--udp-port', String(mediaPort), '--log-level', 'debug'] });
  proxy = await startProxy(server.url);
  browser = await launchBrowser();
});

after(async () => {
  unblockUDP();
  await browser?.close();
  await proxy?.stop();
  await server?.stop();
});

/**
 * Records the participants a page is told joined or left, from now on.
 * @param {import('playwright-core').Page} page
 */
async function recordMembership(page) {
  await page.evaluate(() => {
    const client = /** @type {any} */ (window.switchboard);
    const w = /** @type {any} */ (window);
    w.membership = [];
    const joined = client.onparticipantjoined;
    const left = client.onparticipantleft;
    client.onparticipantjoined = (/** @type {{id: string}} */ p) => { w.membership.push(`joined ${p.id}`); joined?.(p); };
    client.onparticipantleft = (/** @type {{id: string}} */ p) => { w.membership.push(`left ${p.id}`); left?.(p); };
  });
}

/**
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string[]>}
 */
function membership(page) {
  return page.evaluate(() => /** @type {any} */ (window).membership);
}

/**
 * Records the layers the server says it forwards to a page (track-layer), from now on.
 * @param {import('playwright-core').Page} page
 */
async function recordLayers(page) {
  await page.evaluate(() => {
    const client = /** @type {any} */ (window.switchboard);
    const w = /** @type {any} */ (window);
    const started = Date.now();
    w.layerReports = [];
    const told = client.ontracklayer;
    client.ontracklayer = (/** @type {any} */ l) => {
      w.layerReports.push({ at: Date.now() - started, ...l });
      told?.(l);
    };
  });
}

/**
 * What a page's media connections say of their video, for a failure's report: each
 * inbound and outbound video stream's counters, the connections' states, the ICE
 * restarts made and the layer reports recorded (recordLayers).
 * @param {import('playwright-core').Page} page
 */
function mediaState(page) {
  return page.evaluate(async () => {
    const client = /** @type {any} */ (window.switchboard);
    /** @type {Record<string, unknown>} */
    const out = { iceRestarts: client?.ice?.count, layerReports: /** @type {any} */ (window).layerReports };
    const keep = {
      'inbound-rtp': ['ssrc', 'mid', 'frameWidth', 'framesReceived', 'framesDecoded', 'keyFramesDecoded', 'framesDropped',
        'bytesReceived', 'packetsReceived', 'packetsLost', 'nackCount', 'pliCount', 'firCount', 'freezeCount', 'totalFreezesDuration'],
      'outbound-rtp': ['ssrc', 'rid', 'active', 'frameWidth', 'framesEncoded', 'keyFramesEncoded', 'framesSent', 'bytesSent',
        'pliCount', 'nackCount', 'qualityLimitationReason', 'targetBitrate'],
      'candidate-pair': ['state', 'nominated', 'availableOutgoingBitrate', 'currentRoundTripTime', 'bytesSent', 'bytesReceived'],
    };
    for (const [name, pc] of [['publisher', client?.publisherConnection], ['subscriber', client?.subscriberConnection]]) {
      if (!pc) continue;
      /** @type {unknown[]} */
      const reports = [];
      (await pc.getStats()).forEach((/** @type {any} */ r) => {
        const fields = /** @type {Record<string, string[]>} */ (keep)[r.type];
        if (!fields || (r.kind && r.kind !== 'video') || (r.type === 'candidate-pair' && !r.nominated)) return;
        reports.push(Object.fromEntries([['type', r.type], ...fields.filter((f) => f in r).map((f) => [f, r[f]])]));
      });
      out[name] = { connection: pc.connectionState, ice: pc.iceConnectionState, stats: reports };
    }
    return out;
  });
}

/**
 * Runs check, and when it throws adds to its error what the pages and the server saw.
 * @template T
 * @param {() => Promise<T>} check
 * @param {import('./lib/participant.js').Participant[]} pages
 * @returns {Promise<T>}
 */
async function withMediaReport(check, pages) {
  try {
    return await check();
  } catch (err) {
    const states = [];
    for (const p of pages) {
      states.push(`${p.name}: ${JSON.stringify(await mediaState(p.page).catch((e) => String(e)))}`);
      const seen = await p.page.evaluate(() => ({
        id: window.switchboard?.self?.id,
        state: document.querySelector('#state')?.getAttribute('data-state'),
        notices: [...document.querySelectorAll('.notice')].map((n) => n.textContent),
        tiles: [...document.querySelectorAll('.tile.remote')].map((t) => `${t.getAttribute('data-participant')}/${t.getAttribute('data-source')}`),
      })).catch((e) => String(e));
      states.push(`${p.name} page: ${JSON.stringify(seen)}; log: ${JSON.stringify(p.log.slice(-20))}`);
    }
    // SRTP's "duplicated packet" lines (a retransmission refused) are counted, not
    // shown: a storm of them would push everything else out of the tail.
    const lines = server.log().split('\n');
    const refused = lines.filter((l) => l.includes('duplicated packet')).length;
    const log = lines.filter((l) => !l.includes('duplicated packet')).slice(-150).join('\n');
    throw new Error(`${err instanceof Error ? err.message : err}\n${states.join('\n')}\n` +
      `server log tail (${refused} "duplicated packet" lines left out):\n${log}`, { cause: err });
  }
}

test('a page whose network drops for 5 s stays in the call', { timeout: 120_000 }, async () => {
  const room = uniqueRoom('resume');
  // Alice signals through the proxy; Bob directly. Both send media to the one port.
  const alice = await joinByLink(browser, proxy.url, room, 'Alice');
  const bob = await joinByLink(browser, server.url, room, 'Bob');
  const [aliceId, bobId] = [await alice.id(), await bob.id()];
  await expectVideoFlowing(alice, [`${bobId}/camera`]);
  await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  await recordMembership(bob.page);
  await recordLayers(alice.page);

  const cutAt = Date.now();
  blockUDP([mediaPort]);
  proxy.hold(); // reconnections wait, unanswered, as on a network that is down
  proxy.cut();
  try {
    await waitFor('Alice to show that she is reconnecting', async () => {
      assert.equal(await alice.page.getAttribute('#state', 'data-state'), 'reconnecting');
    }, { timeout: 5_000, interval: 100 });
    await delay(Math.max(0, 5_000 - (Date.now() - cutAt))); // the cut lasts 5 s
  } finally {
    unblockUDP();
    proxy.release();
  }

  await waitFor('Alice to be back in the call', async () => {
    assert.equal(await alice.page.getAttribute('#state', 'data-state'), 'joined');
  }, { timeout: 30_000 });
  assert.equal(await alice.id(), aliceId, 'Alice kept her participant id');
  const resumes = await alice.page.evaluate(() => /** @type {any} */ (window.switchboard?.transport)?.resumes ?? 0);
  assert.ok(resumes >= 1, `Alice's WebSocket resumed ${resumes} times`);

  await withMediaReport(async () => {
    await expectVideoFlowing(alice, [`${bobId}/camera`]);
    await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  }, [alice, bob]);
  assert.deepEqual(await membership(bob.page), [], 'Bob saw nobody leave or join');
  assert.equal(await bob.page.locator(`.tile[data-participant="${aliceId}"]`).count() > 0, true, 'Bob still shows Alice');
  for (const p of [alice, bob]) expectCleanLog(p);
});

/**
 * The local UDP ports of the candidate pairs a page's media connections use now.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<number[]>}
 */
function mediaPorts(page) {
  return page.evaluate(async () => {
    /** @type {number[]} */
    const ports = [];
    const client = window.switchboard;
    for (const pc of [client?.publisherConnection, client?.subscriberConnection]) {
      if (!pc) continue;
      const stats = await pc.getStats();
      stats.forEach((report) => {
        if (report.type !== 'transport' || !report.selectedCandidatePairId) return;
        const pair = stats.get(report.selectedCandidatePairId);
        const local = pair && stats.get(pair.localCandidateId);
        if (local?.port) ports.push(local.port);
      });
    }
    return ports;
  });
}

test('a page whose network changes restarts ICE and stays in the call', { timeout: 120_000 }, async () => {
  const room = uniqueRoom('network-change');
  const alice = await joinByLink(browser, proxy.url, room, 'Alice');
  const bob = await joinByLink(browser, server.url, room, 'Bob');
  const [aliceId, bobId] = [await alice.id(), await bob.id()];
  await expectVideoFlowing(alice, [`${bobId}/camera`]);
  await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  await recordMembership(bob.page);
  const ports = await mediaPorts(alice.page);
  assert.equal(ports.length, 2, `Alice's connections use ports ${ports}`);

  // The ports Alice's media used stay dead, as after a move to another network: only
  // new ICE candidates (an ICE restart) get her media through again. Her signaling
  // is away for 5 s meanwhile.
  blockUDP(ports);
  proxy.hold();
  proxy.cut();
  try {
    await delay(5_000);
    proxy.release();
    await withMediaReport(async () => {
      await waitFor('Alice to be back in the call', async () => {
        assert.equal(await alice.page.getAttribute('#state', 'data-state'), 'joined');
      }, { timeout: 30_000 });
      await expectVideoFlowing(alice, [`${bobId}/camera`]);
      await expectVideoFlowing(bob, [`${aliceId}/camera`]);
    }, [alice, bob]);
  } finally {
    unblockUDP();
    proxy.release();
  }
  const restarts = await alice.page.evaluate(() => window.switchboard?.ice.count ?? 0);
  assert.ok(restarts >= 1, `Alice restarted ICE ${restarts} times`);
  assert.equal(await alice.id(), aliceId, 'Alice kept her participant id');
  assert.deepEqual(await membership(bob.page), [], 'Bob saw nobody leave or join');
  for (const p of [alice, bob]) expectCleanLog(p);
});
