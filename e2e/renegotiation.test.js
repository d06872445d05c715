// Publisher renegotiation under bursts of changes: offers never overlap, and the
// other side ends up with exactly what is published.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing, tileSelector } from './lib/participant.js';
import { waitFor } from './lib/wait.js';

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('publish and unpublish without waiting: one offer at a time, right end state', { timeout: 60_000 }, async () => {
  const room = uniqueRoom('burst');
  const alice = await joinByLink(browser, server.url, room, 'Alice');
  const bob = await joinByLink(browser, server.url, room, 'Bob');
  const aliceId = await alice.id();
  await expectVideoFlowing(bob, [`${aliceId}/camera`]);

  const result = await alice.page.evaluate(async () => {
    const client = window.switchboard;
    if (!client) throw new Error('no client');
    // Count publish-offers in flight by watching the requests the client makes.
    let inFlight = 0;
    let maxInFlight = 0;
    let offers = 0;
    const request = client.request.bind(client);
    client.request = async (message) => {
      if (message.type !== 'publish-offer') return request(message);
      offers++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await request(message);
      } finally {
        inFlight--;
      }
    };
    const [first, second, third] = await Promise.all([1, 2, 3].map(() =>
      navigator.mediaDevices.getUserMedia({ video: true }).then((s) => s.getVideoTracks()[0])));
    // Six changes, none awaited before the next.
    await Promise.all([
      client.publish(first, 'screen'),
      client.unpublish(first),
      client.publish(second, 'screen'),
      client.unpublish('screen'),
      client.publish(third, 'screen'),
      client.setMuted('audio', true),
    ]);
    return { offers, maxInFlight, published: client.localTracks().map((l) => l.source).sort() };
  });
  assert.equal(result.maxInFlight, 1, 'never two publish-offers in flight');
  assert.ok(result.offers >= 1 && result.offers <= 4, `changes were coalesced: ${result.offers} offers for 5 changes`);
  assert.deepEqual(result.published, ['camera', 'microphone', 'screen']);

  await expectVideoFlowing(bob, [`${aliceId}/screen`, `${aliceId}/camera`]);
  await waitFor('Bob to receive exactly one screen track from Alice', async () => {
    const screens = await bob.page.evaluate((id) =>
      window.switchboard?.remoteTracks().filter((t) => t.participant === id && t.source === 'screen').length, aliceId);
    assert.equal(screens, 1, `screen tracks: ${screens}`);
    assert.equal(await bob.page.locator(tileSelector(aliceId, 'screen')).count(), 1, 'screen tiles');
  });

  // Stop and start again: the stopped transceiver's m-line is recycled, so the offer
  // does not grow.
  const sizes = await alice.page.evaluate(async () => {
    const client = window.switchboard;
    const pc = client?.publisherConnection;
    if (!client || !pc) throw new Error('no publisher');
    const mlines = () => (pc.localDescription?.sdp.match(/^m=/gm) ?? []).length;
    const before = mlines();
    await client.unpublish('screen');
    const track = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
    await client.publish(track, 'screen');
    return { before, after: mlines() };
  });
  assert.equal(sizes.after, sizes.before, `m-lines: ${JSON.stringify(sizes)}`);
  await expectVideoFlowing(bob, [`${aliceId}/screen`]);
  await alice.context.close();
  await bob.context.close();
});

// A screen share stopped, then any other publisher renegotiation, then a new screen
// share: the new share goes on a new transceiver (the stopped one's m-line is
// recycled by the browser under a new mid) and is published.
test('a screen share restarted after an unrelated renegotiation is published', {
  timeout: 60_000,
}, async () => {
  const room = uniqueRoom('restart');
  const alice = await joinByLink(browser, server.url, room, 'Alice');
  const bob = await joinByLink(browser, server.url, room, 'Bob');
  const aliceId = await alice.id();
  try {
    await expectVideoFlowing(bob, [`${aliceId}/camera`]);
    await alice.page.evaluate(async () => {
      const client = window.switchboard;
      if (!client) throw new Error('no client');
      const video = async () => (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
      await client.publish(await video(), 'screen');
      await client.unpublish('screen');
      await client.publisher.negotiate(); // stands for any other change of the publisher
      const track = await video();
      await client.publish(track, 'screen');
    });
    await expectVideoFlowing(bob, [`${aliceId}/screen`], { timeout: 10_000 });
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});
