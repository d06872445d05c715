// What people see when things go wrong: no camera or microphone, and no server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, openPage, uniqueRoom, expectVideoFlowing, tileSelector } from './lib/participant.js';
import { waitFor } from './lib/wait.js';

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./lib/server.js').RunningServer[]} */
const servers = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.stop()));
});

/**
 * @param {import('./lib/participant.js').Participant} p
 * @param {string} code
 */
async function noticeText(p, code) {
  const notice = p.page.locator(`#messages .notice[data-code="${code}"]`);
  const texts = await notice.allTextContents();
  const all = await p.page.locator('#messages .notice').evaluateAll((ns) => ns.map((n) => `${n.getAttribute('data-code')}: ${n.textContent}`));
  assert.equal(texts.length, 1, `one "${code}" notice; notices: ${JSON.stringify(all)}`);
  return texts[0];
}

test('denied camera and microphone: joins receive-only and says so', { timeout: 60_000 }, async () => {
  const server = await startServer();
  servers.push(server);
  const room = uniqueRoom('denied');
  const sender = await joinByLink(browser, server.url, room, 'Sender');
  const watcher = await joinByLink(browser, server.url, room, 'Watcher', {
    // What a browser does when the person (or a policy) refuses access.
    initScript: () => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    },
  });
  const [senderId, watcherId] = await Promise.all([sender.id(), watcher.id()]);

  const text = await noticeText(watcher, 'media-denied');
  assert.match(text, /denied/i);
  assert.match(text, /receive-only/i);
  assert.equal(await watcher.page.locator('#btn-mic').isDisabled(), true, 'mic button disabled without a microphone');
  assert.equal(await watcher.page.locator('#btn-camera').isDisabled(), true, 'camera button disabled without a camera');

  await expectVideoFlowing(watcher, [`${senderId}/camera`]);
  // The sender lists the watcher with a tile that has no video.
  await waitFor('Sender to show a video-less tile for Watcher', async () => {
    const tile = sender.page.locator(tileSelector(watcherId, 'camera'));
    assert.equal(await tile.count(), 1, 'tile count');
    assert.match(await tile.getAttribute('class') ?? '', /\bno-video\b/);
    assert.equal(await tile.locator('.name').textContent(), 'Watcher');
  });
  await sender.context.close();
  await watcher.context.close();
});

test('server gone: the page says the connection was lost, then that the server is unreachable', { timeout: 60_000 }, async () => {
  const server = await startServer();
  servers.push(server);
  const room = uniqueRoom('gone');
  const p = await joinByLink(browser, server.url, room, 'Lonely');

  await server.stop();
  // The page tries to resume its session for 12 s before it says the connection is lost.
  await waitFor('the page to report the lost connection', async () => {
    assert.equal(await p.page.getAttribute('#state', 'data-state'), 'closed');
    assert.match(await noticeText(p, 'connection-lost'), /connection/i);
  }, { timeout: 30_000 });
  assert.equal(await p.page.locator('#join-view').isVisible(), true, 'back at the join form');

  await p.page.click('#join-button');
  await waitFor('the page to report the server unreachable', async () => {
    assert.match(await noticeText(p, 'unreachable'), /cannot reach/i);
    assert.equal(await p.page.getAttribute('#state', 'data-state'), 'closed');
  });
  assert.equal(await p.page.locator('#join-button').isEnabled(), true, 'join can be tried again');
  await p.context.close();
});

test('a room name the server would refuse is caught before connecting', { timeout: 30_000 }, async () => {
  const server = await startServer();
  servers.push(server);
  const p = await openPage(browser, server.url, 'Typo');
  await p.page.fill('#room', 'no spaces allowed');
  await p.page.fill('#name', 'Typo');
  await p.page.click('#join-button');
  await waitFor('a message about the room name', async () => {
    assert.match(await noticeText(p, 'bad-request'), /Room names/);
  });
  assert.equal(await p.page.getAttribute('#state', 'data-state'), 'disconnected');
  await p.context.close();
});

test('an error the server sends is shown to the person', { timeout: 30_000 }, async () => {
  const server = await startServer();
  servers.push(server);
  const p = await joinByLink(browser, server.url, uniqueRoom('error'), 'Curious');
  // A message type the server does not know: it answers with an `unknown-type` error.
  await p.page.evaluate(() => window.switchboard?.send({ type: 'no-such-message' }));
  await waitFor('the server error to be shown', async () => {
    assert.match(await noticeText(p, 'server-unknown-type'), /Server error: .*\(unknown-type\)/);
  });
  assert.equal(await p.page.getAttribute('#state', 'data-state'), 'joined', 'the session goes on');
  await p.context.close();
});

test('joining by link without a name picks one', { timeout: 30_000 }, async () => {
  const server = await startServer();
  servers.push(server);
  const url = new URL(server.url);
  url.search = new URLSearchParams({ room: uniqueRoom('noname'), autojoin: '1' }).toString();
  const p = await openPage(browser, url.href, 'Nameless');
  await waitFor('the page to join', async () => {
    assert.equal(await p.page.getAttribute('#state', 'data-state'), 'joined');
  });
  const name = await p.page.evaluate(() => window.switchboard?.self?.name);
  assert.match(name ?? '', /^Guest \d{4}$/);
  await p.context.close();
});
