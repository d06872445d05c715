// Browsers whose network blocks the server's media ports: they connect over ICE-TCP
// when UDP is blocked, and through the built-in TURN server when only it can be
// reached; the /connectivity page tells which paths work.
//
// The paths are blocked with tc on loopback (lib/lonet.js): these tests need root
// inside a network namespace of their own, as scripts/test.sh runs them; elsewhere
// they fail and say so.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from './lib/server.js';
import { CHROMIUM, CHROMIUM_ARGS } from './lib/browser.js';
import { joinByLink, openPage, uniqueRoom, expectVideoFlowing } from './lib/participant.js';
import { drop } from './lib/lonet.js';
import { waitFor } from './lib/wait.js';

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** What the server announces (GET /v1/connectivity). */
let info = { udpPort: 0, iceTcpPort: 0, turn: /** @type {string[]} */ ([]) };
let turnPort = 0;
/** the built-in TURN server's TLS port: blocked in the TURN tests, so that the relay used is over the transport each names */
let turnTLSPort = 0;
/** Holds the TURN server's self-signed certificate. */
const certDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-reach-'));

before(async () => {
  const cert = path.join(certDir, 'cert.pem');
  const key = path.join(certDir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  // Relays are opened on 127.0.0.2, so that the browser's own packets to the media
  // port (from 127.0.0.1) can be dropped and the relay's not.
  server = await startServer({ args: ['--turn', '--turn-port', '0', '--turn-host', '127.0.0.1', '--turn-relay-ip', '127.0.0.2',
    '--turn-tls-port', '0', '--turn-tls-cert', cert, '--turn-tls-key', key] });
  // The certificate is self-signed: the browser takes it without a trusted root.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'] });
  info = await (await fetch(`${server.url}v1/connectivity`)).json();
  assert.ok(info.udpPort && info.iceTcpPort && info.turn.length, `the server announces ${JSON.stringify(info)}`);
  turnPort = Number(new URL(info.turn[0].replace(/^turns?:/, 'turn://')).port);
  const tls = info.turn.find((/** @type {string} */ url) => url.startsWith('turns:'));
  assert.ok(tls, `the server announces TURN over TLS: ${JSON.stringify(info.turn)}`);
  turnTLSPort = Number(new URL(tls.replace(/^turns:/, 'turn://')).port);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(certDir, { recursive: true, force: true });
});

/**
 * The selected candidate pair of a page's connection (publisher or subscriber):
 * its local candidate's type, protocol and relay protocol.
 * @param {import('playwright-core').Page} page
 * @param {'publisherConnection' | 'subscriberConnection'} which
 */
function selectedPair(page, which) {
  return page.evaluate(async (which) => {
    const pc = window.switchboard?.[which];
    if (!pc) return null;
    const stats = await pc.getStats();
    /** @type {any} */
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    return local && remote ? { type: local.candidateType, protocol: local.protocol, relayProtocol: local.relayProtocol ?? '',
      remotePort: remote.port, remoteProtocol: remote.protocol } : null;
  }, which);
}

/**
 * Two browsers in a room, one sending its camera to the other; checks each one's
 * candidate pair with expect.
 * @param {string} label
 * @param {(pair: any) => boolean} expect
 */
async function callWorks(label, expect) {
  const room = uniqueRoom(label);
  const alice = await joinByLink(browser, server.url, room, 'Alice', { timeout: 30_000 });
  const bob = await joinByLink(browser, server.url, room, 'Bob', { timeout: 30_000 });
  try {
    await expectVideoFlowing(bob, [`${await alice.id()}/camera`]);
    for (const [p, which] of [[alice, 'publisherConnection'], [bob, 'subscriberConnection']]) {
      const page = /** @type {import('./lib/participant.js').Participant} */ (p).page;
      const pair = await selectedPair(page, /** @type {'publisherConnection' | 'subscriberConnection'} */ (which));
      assert.ok(pair && expect(pair), `${/** @type {any} */ (p).name}'s ${which} uses ${JSON.stringify(pair)}`);
    }
  } catch (err) {
    console.error(`server log tail:\n${server.log().split('\n').slice(-40).join('\n')}`);
    console.error([...alice.log, ...bob.log].join('\n'));
    throw err;
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
}

test('browsers whose UDP to the server is blocked call over ICE-TCP', { timeout: 120_000 }, async () => {
  const undo = drop({ proto: 'udp', port: info.udpPort });
  try {
    await callWorks('tcp', (pair) => pair.protocol === 'tcp' && pair.remotePort === info.iceTcpPort);
  } finally {
    undo();
  }
});

for (const over of /** @type {const} */ (['udp', 'tcp'])) {
  test(`browsers that reach only the TURN server call through it over ${over}`, { timeout: 120_000 }, async () => {
    const undo = drop({ proto: 'udp', port: info.udpPort, from: '127.0.0.1/32' }, { proto: 'tcp', port: info.iceTcpPort },
      { proto: over === 'udp' ? 'tcp' : 'udp', port: turnPort }, { proto: 'tcp', port: turnTLSPort });
    try {
      await callWorks(`turn-${over}`, (pair) => pair.type === 'relay' && pair.relayProtocol === over);
    } finally {
      undo();
    }
  });
}

/**
 * Opens /connectivity and waits for its verdict on every path.
 * @returns {Promise<Record<string, string>>} the result of each path's row
 */
async function connectivityPage() {
  const page = await openPage(browser, `${server.url}connectivity`, 'check');
  try {
    await waitFor('the connectivity page to finish', async () => {
      assert.equal(await page.page.getAttribute('#summary', 'data-state'), 'done', await page.page.textContent('#summary') ?? '');
    }, { timeout: 60_000 });
    /** @type {Record<string, string>} */
    const results = {};
    for (const row of await page.page.locator('#paths tr').all()) {
      results[(await row.getAttribute('id') ?? '').replace('path-', '')] = `${await row.getAttribute('data-result')}: ${await row.textContent()}`;
    }
    return results;
  } finally {
    await page.context.close();
  }
}

test('/connectivity reports UDP, TCP and TURN working', { timeout: 120_000 }, async () => {
  const results = await connectivityPage();
  const want = { udp: /^ok:.*udp to /, tcp: /^ok:.*tcp to /, 'turn-udp': /^ok:.*relay via udp/, 'turn-tcp': /^ok:.*relay via tcp/,
    'turn-tls': /^ok:.*relay via tls/ };
  for (const [p, re] of Object.entries(want)) {
    assert.match(results[p] ?? '', re, `${p}: ${JSON.stringify(results)}`);
  }
});

test('/connectivity reports UDP failing when UDP is blocked', { timeout: 120_000 }, async () => {
  const undo = drop({ proto: 'udp', port: info.udpPort });
  try {
    const results = await connectivityPage();
    assert.match(results.udp ?? '', /^failed:.*Allow UDP/, JSON.stringify(results));
    assert.match(results.tcp ?? '', /^ok:.*tcp to /, JSON.stringify(results));
  } finally {
    undo();
  }
});
