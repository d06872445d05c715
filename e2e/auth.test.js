// Join tokens in the browser: a page with a valid token (?token=) joins and plays
// video; a page with a bad token shows why it was refused; a second page with the
// same identity replaces the first, which says so.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer, serverBinary } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, openPage, uniqueRoom, expectVideoFlowing, expectCleanLog } from './lib/participant.js';
import { waitFor } from './lib/wait.js';

const API_KEY = 'e2e-key';
const API_SECRET = 'e2e-secret-0123456789-0123456789-abcdef';

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./lib/server.js').RunningServer} */
let server;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ args: ['--api-key', API_KEY, '--api-secret', API_SECRET] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Mints a token with `switchboard token`.
 * @param {string} room
 * @param {string} identity
 * @param {string} [secret]
 */
async function mint(room, identity, secret = API_SECRET) {
  const { stdout } = await promisify(execFile)(serverBinary(), [
    'token', '--api-key', API_KEY, '--api-secret', secret, '--room', room, '--identity', identity, '--ttl', '10m',
  ]);
  return stdout.trim();
}

test('a page with a valid token joins and plays video; a bad token is refused with its reason', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('auth');
  const ada = await joinByLink(browser, server.url, room, 'Ada', { params: { token: await mint(room, 'ada') } });
  const bob = await joinByLink(browser, server.url, room, 'Bob', { params: { token: await mint(room, 'bob'), transport: 'sse' } });
  const [adaId, bobId] = await Promise.all([ada.id(), bob.id()]);
  await expectVideoFlowing(bob, [`${adaId}/camera`]);
  await expectVideoFlowing(ada, [`${bobId}/camera`]);

  for (const [label, token, reason] of [
    ['forged', await mint(room, 'eve', 'not-the-secret-0123456789-0123456789'), /bad signature/],
    ['other room', await mint('elsewhere', 'eve'), /token is for room "elsewhere"/],
  ]) {
    const url = new URL(server.url);
    url.search = new URLSearchParams({ room, name: 'Eve', autojoin: '1', token: String(token) }).toString();
    const eve = await openPage(browser, url.href, `Eve (${label})`);
    await waitFor(`the ${label} token's refusal to show`, async () => {
      const notice = eve.page.locator('#messages .notice[data-code="unauthorized"]');
      assert.equal(await notice.count(), 1, 'one unauthorized notice');
      assert.match(await notice.textContent() ?? '', /** @type {RegExp} */ (reason));
    });
    assert.notEqual(await eve.page.getAttribute('#state', 'data-state'), 'joined');
    assert.equal(await eve.page.evaluate(() => window.switchboard?.self), null, 'no participant');
    expectCleanLog(eve);
    await eve.context.close();
  }
  // Nobody else arrived in the room.
  assert.equal(await ada.page.evaluate(() => window.switchboard?.participants.size), 1);
  expectCleanLog(ada);
  expectCleanLog(bob);
  await ada.context.close();
  await bob.context.close();
});

test('a second page with the same identity replaces the first, which says so', { timeout: 60_000 }, async () => {
  const room = uniqueRoom('replace');
  const first = await joinByLink(browser, server.url, room, 'Ada laptop', { params: { token: await mint(room, 'ada') } });
  const second = await joinByLink(browser, server.url, room, 'Ada phone', { params: { token: await mint(room, 'ada') } });
  await waitFor('the first page to say it was replaced', async () => {
    assert.equal(await first.page.getAttribute('#state', 'data-state'), 'closed');
    const notice = first.page.locator('#messages .notice[data-code="replaced"]');
    assert.equal(await notice.count(), 1, 'one replaced notice');
    assert.equal(await first.page.locator('#messages .notice[data-code="connection-lost"]').count(), 0, 'no connection-lost notice');
  });
  assert.equal(await second.page.getAttribute('#state', 'data-state'), 'joined');
  expectCleanLog(first);
  expectCleanLog(second);
  await first.context.close();
  await second.context.close();
});
