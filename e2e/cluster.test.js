// Two browsers in one room, each connected through a different node of a cluster
// sharing rooms through Redis: the node that does not hold the room forwards the
// signaling to the one that does, and both see each other's video.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing } from './lib/participant.js';
import { stepper } from './lib/step.js';

/** @type {import('./lib/server.js').RunningCluster} */
let cluster;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./lib/participant.js').Participant[]} */
const opened = [];

before(async () => {
  cluster = await startCluster({ size: 2 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

// The failure report shows both nodes' logs.
const step = stepper(() => ({
  url: cluster.nodes[0].url,
  log: () => cluster.nodes.map((n, i) => `[node${i + 1}]\n${n.log()}`).join('\n'),
  stop: async () => {},
}), opened);

// Over WebSocket, and over Server-Sent Events, whose posts carry the room too.
for (const { title, params } of [{ title: 'WebSocket', params: {} }, { title: 'SSE', params: { transport: 'sse' } }]) {
  test(`two browsers in one room through two nodes see each other (${title})`, { timeout: 120_000 },
    (t) => twoNodes(t, params));
}

/**
 * @param {import('node:test').TestContext} t
 * @param {Record<string, string>} params  the page's URL parameters besides room and name
 */
async function twoNodes(t, params) {
  const room = uniqueRoom('cluster');
  const [first, second] = cluster.nodes;
  assert.notEqual(first.url, second.url);
  const alice = await joinByLink(browser, first.url, room, 'Alice', { params });
  opened.push(alice);
  const bob = await joinByLink(browser, second.url, room, 'Bob', { params });
  opened.push(bob);
  const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);
  await step(t, 'each decodes and plays the other\'s camera, and the frame counts grow', async () => {
    await expectVideoFlowing(alice, [`${bobId}/camera`]);
    await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  });
  await step(t, 'one node holds the room: each page lists the other', async () => {
    for (const [viewer, otherId] of [[alice, bobId], [bob, aliceId]]) {
      const ids = await viewer.page.evaluate(() => window.switchboard?.remoteTracks().map((tr) => tr.participant) ?? []);
      assert.ok(ids.includes(otherId), `${viewer.name} lists ${JSON.stringify(ids)}, not ${otherId}`);
    }
  });
  await Promise.all([alice, bob].map((p) => p.context.close()));
}
