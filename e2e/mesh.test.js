// Acceptance test of mesh rooms with real browsers: media flows directly between
// the pages (one RTCPeerConnection per remote peer), the server relays signaling
// only. Each scenario runs over the WebSocket and over Server-Sent Events + POST.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, openPage, uniqueRoom, expectVideoFlowing, tileSelector, expectCleanLog } from './lib/participant.js';
import { waitFor } from './lib/wait.js';
import { stepper } from './lib/step.js';

/** Signaling transports every scenario runs over (`?transport=`). */
const TRANSPORTS = ['ws', 'sse'];

/** Rooms the server makes mesh rooms by configuration (`--mesh-rooms`). */
const CONFIGURED = 'p2p-*';

/**
 * Bounds of the waits for media. Every page of a mesh room encodes its camera once
 * per peer and decodes every other: on a machine shared with other work a page can
 * take tens of seconds to get going, and a single getStats() several. These bounds
 * say when to give up, not how fast it must be; the 5 s bound on a tile going away is
 * the acceptance criterion and stays.
 */
const MEDIA = { timeout: 90_000, growTimeout: 60_000 };
const SLOW = { timeout: 60_000 };

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./lib/participant.js').Participant[]} */
const opened = [];

before(async () => {
  // Debug logs say why each session ended, should a test fail.
  server = await startServer({ args: ['--mesh-rooms', CONFIGURED, '--log-level', 'debug'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * The state of a page's mesh peer connections, for a failed step's report.
 * @param {import('./lib/participant.js').Participant} p
 */
async function meshPeers(p) {
  const peers = await p.page.evaluate(() => [...(window.switchboard?.mesh?.peers.values() ?? [])].map((peer) => ({
    peer: peer.peerId, polite: peer.polite, signaling: peer.pc.signalingState, ice: peer.pc.iceConnectionState,
    connection: peer.pc.connectionState, sending: peer.sending, senders: peer.senders.size, remote: peer.remote.size, ...peer.stats,
  })));
  return peers.length ? `[${p.name} peers] ${JSON.stringify(peers)}` : '';
}

const step = stepper(() => server, opened, meshPeers);

/** The peer connections the server holds, from the `peer_connections` line of /healthz. */
async function serverPeerConnections() {
  const res = await fetch(new URL('healthz', server.url));
  const body = await res.text();
  const match = /^peer_connections (\d+)$/m.exec(body);
  assert.ok(res.ok && match, `/healthz answered ${res.status}: ${JSON.stringify(body)}`);
  return Number(match[1]);
}

/**
 * Joins people one after the other.
 * @param {string} room
 * @param {string[]} names
 * @param {Record<string, string>} params  added to each page's query
 */
async function joinAll(room, names, params) {
  const people = [];
  for (const name of names) {
    // Each page of a mesh room encodes its camera once per peer: on a loaded machine
    // a page takes a while to get going.
    const p = await joinByLink(browser, server.url, room, name, { params, timeout: 120_000 });
    opened.push(p);
    people.push(p);
  }
  return people;
}

/**
 * Checks that a page is in a mesh room over the transport asked for, with one peer
 * connection per other participant and nothing to or from the server's media side.
 * @param {import('./lib/participant.js').Participant} p
 * @param {string} transport
 * @param {number} peers
 */
async function expectMesh(p, transport, peers) {
  await waitFor(`${p.name} to hold ${peers} peer connections`, async () => {
    const got = await p.page.evaluate(() => ({
      mode: window.switchboard?.mode,
      transport: window.switchboard?.transport?.constructor.name,
      peers: window.switchboard?.mesh?.peers.size,
      sfu: !!(window.switchboard?.publisherConnection || window.switchboard?.subscriberConnection),
    }));
    assert.deepEqual(got, { mode: 'mesh', transport: transport === 'sse' ? 'SSETransport' : 'WebSocketTransport', peers, sfu: false });
  }, SLOW);
}

/**
 * Waits until no tile or list entry of participant id is left on any of viewers.
 * @param {import('./lib/participant.js').Participant[]} viewers
 * @param {string} id
 * @param {string} name
 */
async function expectGone(viewers, id, name) {
  for (const viewer of viewers) {
    await waitFor(`${viewer.name} to remove ${name}`, async () => {
      assert.equal(await viewer.page.locator(`.tile[data-participant="${id}"]`).count(), 0, 'tiles left');
      assert.equal(await viewer.page.locator(`#participants [data-participant="${id}"]`).count(), 0, 'still listed');
    }, { timeout: 5_000 });
  }
}

for (const transport of TRANSPORTS) {
  const params = transport === 'sse' ? { transport: 'sse' } : {};

  test(`a 1:1 mesh call (?mode=mesh) over ${transport}: video both ways, leaving removes the tile`, { timeout: 400_000 }, async (t) => {
    const room = uniqueRoom('mesh');
    const [alice, bob] = await joinAll(room, ['Alice', 'Bob'], { ...params, mode: 'mesh' });
    const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);

    await step(t, 'both pages are in a mesh room, with one peer connection each', async () => {
      await expectMesh(alice, transport, 1);
      await expectMesh(bob, transport, 1);
      assert.match(alice.page.url(), /mode=mesh/, 'the share link keeps mode=mesh');
    });

    await step(t, 'each page decodes and plays the other camera', async () => {
      await Promise.all([expectVideoFlowing(alice, [`${bobId}/camera`], MEDIA), expectVideoFlowing(bob, [`${aliceId}/camera`], MEDIA)]);
    });

    await step(t, 'the server carries no media: it holds no peer connection, and its SFU has no room of that name', async () => {
      // While both cameras play, the server holds no peer connection: this file's
      // rooms are all mesh rooms, so it should hold none at all.
      assert.equal(await serverPeerConnections(), 0, 'peer connections held by the server');
      // A page asking for an SFU room of the same name is refused: the name is taken
      // by a mesh room.
      const url = new URL(server.url);
      url.search = new URLSearchParams({ room, name: 'Mallory', autojoin: '1', ...params }).toString();
      const mallory = await openPage(browser, url.href, 'Mallory');
      opened.push(mallory);
      await waitFor('Mallory to be refused with mode-mismatch', async () => {
        assert.equal(await mallory.page.locator('.notice[data-code="mode-mismatch"]').count(), 1);
      }, SLOW);
      await mallory.context.close();
    });

    await step(t, 'a page that closes is gone from the other within 5 s', async () => {
      await bob.context.close();
      await expectGone([alice], bobId, 'Bob');
      await expectMesh(alice, transport, 0);
    });

    await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
      expectCleanLog(alice);
      expectCleanLog(bob);
    });
    await alice.context.close();
  });

  test(`a 3-peer mesh room (configured ${CONFIGURED}) over ${transport}: video, chat, mute, screen share, leaving`, { timeout: 600_000 }, async (t) => {
    const room = uniqueRoom('p2p');
    const people = await joinAll(room, ['Alice', 'Bob', 'Carol'], params);
    const [alice, bob, carol] = people;
    const ids = await Promise.all(people.map((p) => p.id()));
    const [aliceId, bobId, carolId] = ids;

    await step(t, 'every page is in a mesh room with a peer connection to each other page', async () => {
      for (const p of people) await expectMesh(p, transport, 2);
    });

    await step(t, 'each page shows a named tile per other peer and plays both other cameras', async () => {
      for (const [i, viewer] of people.entries()) {
        for (const [j, other] of people.entries()) {
          if (i === j) continue;
          const name = viewer.page.locator(`${tileSelector(ids[j], 'camera')} .name`);
          await waitFor(`${viewer.name} to show a tile named ${other.name}`, async () => {
            assert.equal(await name.textContent({ timeout: 5000 }), other.name);
          }, SLOW);
        }
      }
      await Promise.all(people.map((viewer, i) =>
        expectVideoFlowing(viewer, ids.filter((_, j) => j !== i).map((id) => `${id}/camera`), MEDIA)));
    });

    await step(t, 'chat reaches everyone, stamped with the sender', async () => {
      const text = `hello mesh ${Date.now()}`;
      await bob.page.fill('#chat-input', text);
      await bob.page.press('#chat-input', 'Enter');
      for (const viewer of people) {
        await waitFor(`${viewer.name} to show the chat message`, async () => {
          const entries = await viewer.page.locator('#chat-log .chat-entry').evaluateAll((items) =>
            items.map((li) => ({ from: li.getAttribute('data-from'), text: li.querySelector('.chat-text')?.textContent })));
          assert.ok(entries.some((e) => e.text === text && e.from === bobId), `chat log: ${JSON.stringify(entries)}`);
        }, SLOW);
      }
    });

    await step(t, 'mute disables the tracks sent to every peer', async () => {
      await carol.page.click('#btn-mic');
      await carol.page.click('#btn-camera');
      const sent = await carol.page.evaluate(() => [...(window.switchboard?.mesh?.peers.values() ?? [])]
        .flatMap((peer) => peer.pc.getSenders().map((s) => s.track && { kind: s.track.kind, enabled: s.track.enabled })));
      assert.equal(sent.length, 4, `senders: ${JSON.stringify(sent)}`);
      assert.ok(sent.every((s) => s && !s.enabled), `senders: ${JSON.stringify(sent)}`);
      await carol.page.click('#btn-mic');
      await carol.page.click('#btn-camera');
      await Promise.all([alice, bob].map((viewer) => expectVideoFlowing(viewer, [`${carolId}/camera`], MEDIA)));
    });

    await step(t, 'a screen share shows as a new video at the others, and goes away when stopped', async () => {
      await alice.page.click('#btn-screen');
      await waitFor('Alice to be sharing', async () => {
        assert.equal(await alice.page.getAttribute('#btn-screen', 'aria-pressed'), 'true');
      }, SLOW);
      await Promise.all([bob, carol].map((viewer) => expectVideoFlowing(viewer, [`${aliceId}/screen`], MEDIA)));
      await alice.page.click('#btn-screen');
      for (const viewer of [bob, carol]) {
        await waitFor(`${viewer.name} to drop Alice's screen tile`, async () => {
          assert.equal(await viewer.page.locator(tileSelector(aliceId, 'screen')).count(), 0);
        }, SLOW);
      }
      await expectVideoFlowing(bob, [`${aliceId}/camera`], MEDIA);
    });

    await step(t, 'a page that closes is gone from the others within 5 s; the others keep their call', async () => {
      await carol.context.close();
      await expectGone([alice, bob], carolId, 'Carol');
      await expectMesh(alice, transport, 1);
      await Promise.all([expectVideoFlowing(alice, [`${bobId}/camera`], MEDIA), expectVideoFlowing(bob, [`${aliceId}/camera`], MEDIA)]);
    });

    await step(t, 'leaving with the button removes the tile', async () => {
      await bob.page.click('#btn-leave');
      await expectGone([alice], bobId, 'Bob');
    });

    await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
      for (const p of people) expectCleanLog(p);
    });
    await alice.context.close();
    await bob.context.close();
  });
}
