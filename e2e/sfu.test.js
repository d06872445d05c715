// Acceptance test of an SFU room with three real browsers: video, chat, screen share
// and leaving, all over loopback against the switchboard binary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing, tileSelector, expectCleanLog } from './lib/participant.js';
import { waitFor } from './lib/wait.js';
import { stepper } from './lib/step.js';

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./lib/participant.js').Participant[]} */
const opened = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const step = stepper(() => server, opened);

// The same room over each signaling transport, and over a mix of them: participants
// on one transport see and are seen by those on another.
const runs = [
  { title: 'WebSocket', transports: ['websocket', 'websocket', 'websocket'] },
  { title: 'Server-Sent Events (?transport=sse)', transports: ['sse', 'sse', 'sse'] },
  { title: 'two on WebSocket and one on SSE', transports: ['websocket', 'sse', 'websocket'] },
];

for (const { title, transports } of runs) {
  test(`three browsers in one room: video, chat, screen share, leaving (${title})`, { timeout: 150_000 },
    (t) => threeBrowsers(t, transports));
}

/**
 * @param {import('node:test').TestContext} t
 * @param {string[]} transports  Alice's, Bob's and Carol's: 'websocket' or 'sse'
 */
async function threeBrowsers(t, transports) {
  const room = uniqueRoom('sfu');
  const names = ['Alice', 'Bob', 'Carol'];
  const people = [];
  for (const [i, name] of names.entries()) {
    const params = transports[i] === 'sse' ? { transport: 'sse' } : {};
    const p = await joinByLink(browser, server.url, room, name, { params });
    opened.push(p);
    people.push(p);
  }
  await step(t, 'each page signals over its transport', async () => {
    for (const [i, p] of people.entries()) {
      const kind = await p.page.evaluate(() => window.switchboard?.transport?.constructor.name);
      assert.equal(kind, transports[i] === 'sse' ? 'SSETransport' : 'WebSocketTransport', p.name);
    }
  });
  const ids = await Promise.all(people.map((p) => p.id()));
  assert.equal(new Set(ids).size, 3, `participant ids are distinct: ${ids}`);
  const [alice, bob, carol] = people;
  const [aliceId, bobId, carolId] = ids;

  await step(t, 'each page shows a named tile per other participant', async () => {
    for (const [i, viewer] of people.entries()) {
      for (const [j, other] of people.entries()) {
        if (i === j) continue;
        const name = viewer.page.locator(`${tileSelector(ids[j], 'camera')} .name`);
        await waitFor(`${viewer.name} to show a tile named ${other.name}`, async () => {
          assert.equal(await name.textContent({ timeout: 1000 }), other.name);
        });
      }
    }
  });

  await step(t, 'each page decodes and plays both other cameras', async () => {
    await Promise.all(people.map((viewer, i) =>
      expectVideoFlowing(viewer, ids.filter((_, j) => j !== i).map((id) => `${id}/camera`))));
  });

  await step(t, 'a chat message reaches everyone, stamped with the sender', async () => {
    const text = `hello from Alice ${Date.now()}`;
    await alice.page.fill('#chat-input', text);
    await alice.page.press('#chat-input', 'Enter');
    for (const viewer of people) {
      await waitFor(`${viewer.name} to show the chat message`, async () => {
        const entries = await viewer.page.locator('#chat-log .chat-entry').evaluateAll((items) =>
          items.map((li) => ({
            from: li.getAttribute('data-from'),
            name: li.querySelector('.chat-name')?.textContent,
            text: li.querySelector('.chat-text')?.textContent,
          })));
        assert.ok(entries.some((e) => e.text === text && e.name === 'Alice' && e.from === aliceId),
          `chat log: ${JSON.stringify(entries)}`);
      });
    }
  });

  await step(t, 'a screen share shows as a new video at the others, and goes away when stopped', async () => {
    // Twice: the second share goes out on a new transceiver, in the m-line the first
    // one's stopped transceiver left for recycling.
    for (const round of [1, 2]) {
      await alice.page.click('#btn-screen');
      await waitFor(`Alice to be sharing (round ${round})`, async () => {
        assert.equal(await alice.page.getAttribute('#btn-screen', 'aria-pressed'), 'true');
      });
      await Promise.all([bob, carol].map((viewer) => expectVideoFlowing(viewer, [`${aliceId}/screen`])));
      for (const viewer of [bob, carol]) {
        assert.equal(await viewer.page.locator(tileSelector(aliceId, 'screen')).count(), 1, `${viewer.name} has one screen tile`);
      }
      await alice.page.click('#btn-screen');
      for (const viewer of [bob, carol]) {
        await waitFor(`${viewer.name} to drop Alice's screen tile (round ${round})`, async () => {
          assert.equal(await viewer.page.locator(tileSelector(aliceId, 'screen')).count(), 0);
        });
      }
    }
    // The camera is untouched by the screen share going away.
    await expectVideoFlowing(bob, [`${aliceId}/camera`]);
  });

  await step(t, 'ping is answered by pong', async () => {
    const reply = await alice.page.evaluate(() => window.switchboard?.request({ type: 'ping' }));
    assert.equal(reply?.type, 'pong');
  });

  await step(t, 'a page that closes is gone from the others within 5 s', async () => {
    await carol.context.close();
    for (const viewer of [alice, bob]) {
      await waitFor(`${viewer.name} to remove Carol`, async () => {
        assert.equal(await viewer.page.locator(`.tile[data-participant="${carolId}"]`).count(), 0, 'tiles left');
        assert.equal(await viewer.page.locator(`#participants [data-participant="${carolId}"]`).count(), 0, 'still listed');
      }, { timeout: 5_000 });
    }
  });

  await step(t, 'leaving with the button removes the tile; joining again brings video back', async () => {
    await bob.page.click('#btn-leave');
    await waitFor('Alice to remove Bob', async () => {
      assert.equal(await alice.page.locator(`.tile[data-participant="${bobId}"]`).count(), 0, 'tiles left');
    }, { timeout: 5_000 });
    assert.equal(await bob.page.locator('#join-view').isVisible(), true, 'Bob is back at the join form');
    assert.equal(await bob.page.inputValue('#room'), room, 'the form keeps the room');

    await bob.page.click('#join-button');
    await waitFor('Bob to join again', async () => {
      assert.equal(await bob.page.getAttribute('#state', 'data-state'), 'joined');
    });
    const newBobId = await bob.id();
    assert.notEqual(newBobId, bobId, 'a new session gets a new participant id');
    await Promise.all([
      expectVideoFlowing(alice, [`${newBobId}/camera`]),
      expectVideoFlowing(bob, [`${aliceId}/camera`]),
    ]);
  });

  await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
    for (const p of people) expectCleanLog(p);
  });
}
