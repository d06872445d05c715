// HTTPS in the binary: Chromium loads the client over HTTPS from a certificate signed
// by a CA made for this test (trusted through Chromium's SPKI flag, not by ignoring
// errors), two pages in one room (one signaling over WebSocket, one over SSE) see
// each other's video, and the plain-HTTP address of --http-redirect-addr sends a page
// to HTTPS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing, expectCleanLog } from './lib/participant.js';
import { stepper } from './lib/step.js';

const CA_NAME = 'Switchboard e2e test CA';

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./lib/participant.js').Participant[]} */
const opened = [];
/** @type {string} */
let dir;
/** @type {string} */
let redirectAddr;

/**
 * Makes a CA and a certificate for 127.0.0.1 signed by it, with openssl.
 * @returns {{cert: string, key: string}} files of the server's chain and key
 */
function makeCertificates() {
  const file = (/** @type {string} */ name) => path.join(dir, name);
  const openssl = (/** @type {string[]} */ ...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', `/CN=${CA_NAME}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', ...ec, '-keyout', file('key.pem'), '-out', file('leaf.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', file('leaf.ext'), '-out', file('leaf.pem'));
  writeFileSync(file('chain.pem'), readFileSync(file('leaf.pem'), 'utf8') + readFileSync(file('ca.pem'), 'utf8'));
  return { cert: file('chain.pem'), key: file('key.pem') };
}

/** The base64 SHA-256 of a certificate's public key: Chromium's SPKI list format. */
function spkiHash(/** @type {string} */ pemFile) {
  const spki = new X509Certificate(readFileSync(pemFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** @returns {Promise<string>} a loopback address whose port was free a moment ago */
function freeAddr() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-https-'));
  const { cert, key } = makeCertificates();
  redirectAddr = await freeAddr();
  server = await startServer({ args: ['--tls-cert', cert, '--tls-key', key, '--http-redirect-addr', redirectAddr] });
  // Trusts the test CA's leaf by its key, for this browser only; certificate errors
  // of anything else still fail.
  browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${spkiHash(path.join(dir, 'leaf.pem'))}`]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const step = stepper(() => server, opened);

test('two browsers in a room over HTTPS, one arriving through the plain-HTTP redirect', { timeout: 120_000 }, async (t) => {
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/, 'the server prints an https URL');
  const room = uniqueRoom('https');

  /** @type {import('./lib/participant.js').Participant} */
  let alice;
  /** @type {import('./lib/participant.js').Participant} */
  let bob;
  await step(t, 'the page comes over HTTPS with the test CA\'s certificate', async () => {
    const context = await browser.newContext();
    try {
      const response = await (await context.newPage()).goto(server.url);
      const security = await response?.securityDetails();
      assert.equal(response?.status(), 200);
      assert.equal(security?.issuer, CA_NAME, `certificate: ${JSON.stringify(security)}`);
      assert.equal(security?.subjectName, '127.0.0.1');
    } finally {
      await context.close();
    }
  });

  await step(t, 'a page at the https URL joins', async () => {
    alice = await joinByLink(browser, server.url, room, 'Alice');
    opened.push(alice);
  });

  await step(t, 'a page opened at the plain-HTTP address is redirected to HTTPS and joins (over SSE)', async () => {
    bob = await joinByLink(browser, `http://${redirectAddr}/`, room, 'Bob', { params: { transport: 'sse' } });
    opened.push(bob);
    const url = new URL(bob.page.url());
    assert.equal(url.origin, new URL(server.url).origin, `Bob's page is at ${url.href}`);
    assert.equal(url.searchParams.get('room'), room, 'the redirect keeps the query');
    const kinds = await Promise.all([alice, bob].map((p) => p.page.evaluate(() => window.switchboard?.transport?.constructor.name)));
    assert.deepEqual(kinds, ['WebSocketTransport', 'SSETransport'], 'Alice signals over WebSocket, Bob over SSE');
  });

  await step(t, 'each page decodes the other\'s video', async () => {
    const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);
    await Promise.all([
      expectVideoFlowing(alice, [`${bobId}/camera`]),
      expectVideoFlowing(bob, [`${aliceId}/camera`]),
    ]);
  });

  await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
    for (const p of opened) expectCleanLog(p);
  });
});
