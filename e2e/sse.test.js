// The SSE transport in a real browser when the network drops: EventSource reconnects
// with Last-Event-ID, the session goes on, and what was sent meanwhile arrives once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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

before(async () => {
  server = await startServer();
  proxy = await startProxy(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await server?.stop();
});

/**
 * Texts of the chat log of a page, in order.
 * @param {import('playwright-core').Page} page
 */
function chatTexts(page) {
  return page.locator('#chat-log .chat-entry .chat-text').allTextContents();
}

test('an SSE stream that drops resumes: nothing lost, nothing twice, media flows', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('sse-drop');
  // Alice signals over SSE through the proxy; Bob over WebSocket, directly.
  const alice = await joinByLink(browser, proxy.url, room, 'Alice', { params: { transport: 'sse' } });
  const bob = await joinByLink(browser, server.url, room, 'Bob');
  const [aliceId, bobId] = [await alice.id(), await bob.id()];
  await expectVideoFlowing(alice, [`${bobId}/camera`]);
  await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  const streamsBefore = proxy.streams();

  proxy.hold();
  proxy.cut();
  const texts = [1, 2, 3, 4, 5].map((i) => `while away ${i}`);
  for (const text of texts) {
    await bob.page.fill('#chat-input', text);
    await bob.page.press('#chat-input', 'Enter');
  }
  await waitFor('Bob to show his five chats', async () => {
    assert.deepEqual((await chatTexts(bob.page)).filter((t) => t.startsWith('while away')), texts);
  });
  proxy.release();

  await waitFor('Alice to show the five chats, once each and in order', async () => {
    assert.deepEqual((await chatTexts(alice.page)).filter((t) => t.startsWith('while away')), texts);
  }, { timeout: 15_000 });
  assert.ok(proxy.streams() > streamsBefore, 'EventSource opened a new stream');
  assert.equal(await alice.page.getAttribute('#state', 'data-state'), 'joined', 'Alice is still joined');
  assert.equal(await bob.page.locator(`.tile[data-participant="${aliceId}"]`).count() > 0, true, 'Bob still shows Alice');

  await expectVideoFlowing(alice, [`${bobId}/camera`]);
  await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  await alice.page.fill('#chat-input', 'back again');
  await alice.page.press('#chat-input', 'Enter');
  await waitFor('Bob to get the chat Alice sent after the drop', async () => {
    assert.ok((await chatTexts(bob.page)).includes('back again'));
  });
  // Nothing twice, looked at once more after everything settled.
  assert.deepEqual((await chatTexts(alice.page)).filter((t) => t.startsWith('while away')), texts);
  for (const p of [alice, bob]) expectCleanLog(p);
});
