// Two browsers in one room, each connected through a different node of a cluster
// sharing rooms through Redis: the node that does not hold the room forwards the
// signaling to the one that does, and both see each other's video.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing } from './lib/participant.js';
import { waitFor } from './lib/wait.js';
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

// While Redis is away, two pages make the same room on two nodes. When Redis
// returns, one copy is moved: its page is told `moved` and joins again by itself,
// landing in the copy that was kept, and the two see each other.
test('a room made on two nodes while Redis was away is joined up when it returns', { timeout: 120_000 }, async (t) => {
  const room = uniqueRoom('split');
  const [first, second] = cluster.nodes;
  await cluster.redis.stop();
  await waitFor('both nodes to notice Redis is gone', () => {
    for (const n of cluster.nodes) assert.match(n.log(), /Redis unreachable/);
  }, { timeout: 10_000 });
  const alice = await joinByLink(browser, first.url, room, 'Alice');
  opened.push(alice);
  const bob = await joinByLink(browser, second.url, room, 'Bob');
  opened.push(bob);
  const lonely = await Promise.all([alice, bob].map((p) => p.page.evaluate(() => window.switchboard?.remoteTracks().length ?? -1)));
  assert.deepEqual(lonely, [0, 0], 'each page is alone in its copy of the room');

  await cluster.redis.start();
  await step(t, 'one copy is moved, its page joins again and both see each other', async () => {
    await waitFor('a node to move its copy of the room', () => {
      assert.ok(cluster.nodes.some((n) => n.log().includes('room moved to its owner')), 'no node moved a room');
    }, { timeout: 15_000 });
    await waitFor('both pages to be joined in one room', async () => {
      const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);
      for (const [viewer, otherId] of [[alice, bobId], [bob, aliceId]]) {
        const ids = await viewer.page.evaluate(() => window.switchboard?.remoteTracks().map((tr) => tr.participant) ?? []);
        assert.ok(ids.includes(otherId), `${viewer.name} receives from ${JSON.stringify(ids)}, not ${otherId}`);
      }
    }, { timeout: 20_000 });
    const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);
    await expectVideoFlowing(alice, [`${bobId}/camera`]);
    await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  });
  await Promise.all([alice, bob].map((p) => p.context.close()));
});
