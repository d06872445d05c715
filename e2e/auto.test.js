// Acceptance test of auto rooms with real browsers (docs/protocol.md, "Auto rooms"):
// two pages in a `?mode=auto` room talk peer to peer; a third joining promotes the
// room to SFU (the server runs with --mesh-promote-at 3), and all three then get
// each other's media through the server; when the third leaves, the room goes back
// to mesh after --mesh-demote-after. Across each switch the first two pages keep
// their tiles, and the remote video on them never stops for more than 1 s.
// Over the WebSocket, over Server-Sent Events, and with one page on each.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, openPage, expectVideoFlowing, tileSelector, uniqueRoom, expectCleanLog } from './lib/participant.js';
import { waitFor } from './lib/wait.js';
import { stepper } from './lib/step.js';

/** How long the room stays small before it goes back to mesh: short, for the test. */
const DEMOTE_AFTER = '3s';

/**
 * How long the server waits for every client's `switched`: long, so that the test of
 * joins and leaves during a switch, which holds one client's back, has time to make
 * them before the switch ends on its own.
 */
const SWITCH_TIMEOUT = '60s';

/** The longest the remote video on a page may stop across a switch. */
const MAX_GAP_MS = 1000;

/**
 * Bounds of the waits for media and for a switch: on a machine shared with other
 * work a page can take tens of seconds to get going. They say when to give up, not
 * how fast it must be; the 1 s gap and the 5 s bound on a page that left going away
 * are the criteria, and stay.
 */
const MEDIA = { timeout: 90_000, growTimeout: 60_000 };
const SLOW = { timeout: 60_000 };

/**
 * Runs in each page before its own scripts: the camera at 320x240, 15 frames a
 * second. Three pages encoding the camera for a mesh and an SFU at once, on a machine
 * shared with other work, would otherwise starve each other of CPU, and a starved
 * page stops showing video for reasons that have nothing to do with the switch.
 */
function smallCamera() {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) => getUserMedia(constraints?.video === true
    ? { ...constraints, video: { width: 320, height: 240, frameRate: 15 } } : constraints);
}

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** The one UDP port the server's media uses. */
let serverUdpPort = 0;
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./lib/participant.js').Participant[]} */
const opened = [];

before(async () => {
  server = await startServer({
    args: ['--mesh-promote-at', '3', '--mesh-demote-after', DEMOTE_AFTER, '--mesh-switch-timeout', SWITCH_TIMEOUT, '--log-level', 'debug'],
  });
  serverUdpPort = await waitFor('the server to log its UDP port', () => {
    const match = /msg="media on one UDP port" port=(\d+)/.exec(server.log());
    assert.ok(match, 'no "media on one UDP port" line yet');
    return Number(match[1]);
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * A page's connections and switch state, for a failed step's report.
 * @param {import('./lib/participant.js').Participant} p
 */
async function describeClient(p) {
  const state = await p.page.evaluate(() => {
    const c = window.switchboard;
    if (!c) return null;
    return {
      mode: c.mode, auto: c.auto, switching: c.switching && { from: c.switching.from, to: c.switching.to, epoch: c.switching.epoch, held: c.switching.held.size, saidDone: c.switching.saidDone },
      sfu: c.sfuActive, publisher: c.publisherConnection?.connectionState, subscriber: c.subscriberConnection?.connectionState,
      peers: [...(c.mesh?.peers.values() ?? [])].map((peer) => ({ peer: peer.peerId, connection: peer.pc.connectionState, remote: peer.remote.size, ...peer.stats })),
      received: c.remoteTracks(),
      participants: [...c.participants.keys()],
    };
  });
  return `[${p.name} client] ${JSON.stringify(state)}`;
}

const step = stepper(() => server, opened, describeClient);

/** The peer connections the server holds, from the `peer_connections` line of /healthz. */
async function serverPeerConnections() {
  const res = await fetch(new URL('healthz', server.url));
  const body = await res.text();
  const match = /^peer_connections (\d+)$/m.exec(body);
  assert.ok(res.ok && match, `/healthz answered ${res.status}: ${JSON.stringify(body)}`);
  return Number(match[1]);
}

/**
 * Waits until the server holds `n` peer connections.
 * @param {number} n
 */
async function expectServerPeerConnections(n) {
  await waitFor(`the server to hold ${n} peer connections`, async () => {
    assert.equal(await serverPeerConnections(), n);
  }, SLOW);
}

/**
 * Waits until a page is in `mode` with no switch under way, with the connections of
 * that mode only: `peers` mesh peer connections, or the publisher and subscriber.
 * @param {import('./lib/participant.js').Participant} p
 * @param {'sfu' | 'mesh'} mode
 * @param {number} peers  others in the room
 */
async function expectMode(p, mode, peers) {
  await waitFor(`${p.name} to be in ${mode} mode`, async () => {
    assert.equal(await p.page.getAttribute('#state', 'data-mode'), mode, '#state[data-mode]');
    assert.equal(await p.page.getAttribute('#state', 'data-switching'), null, '#state[data-switching]');
    const got = await p.page.evaluate(() => ({
      mode: window.switchboard?.mode,
      auto: window.switchboard?.auto,
      peers: window.switchboard?.mesh?.peers.size ?? null,
      publisher: !!window.switchboard?.publisherConnection,
      subscriber: !!window.switchboard?.subscriberConnection,
    }));
    const sfu = mode === 'sfu';
    assert.deepEqual(got, { mode, auto: true, peers: sfu ? null : peers, publisher: sfu, subscriber: sfu });
  }, SLOW);
}

/**
 * What a page receives from each other participant on its connections: inbound
 * video frames decoded and audio samples received per `<participant id>/<kind>`, and
 * the remote UDP port of the selected candidate pair of the connection each arrives
 * on.
 * @param {import('./lib/participant.js').Participant} p
 * @returns {Promise<Record<string, {count: number, port: number}>>}
 */
function inbound(p) {
  return p.page.evaluate(async () => {
    /** @type {Record<string, {count: number, port: number}>} */
    const out = {};
    const client = window.switchboard;
    if (!client) return out;
    /** @type {RTCPeerConnection[]} */
    const pcs = [...(client.mesh?.peers.values() ?? [])].map((peer) => peer.pc);
    if (client.subscriberConnection) pcs.push(client.subscriberConnection);
    const tracks = client.receivedTracks();
    for (const pc of pcs) {
      const stats = await pc.getStats();
      let port = 0;
      stats.forEach((report) => {
        if (report.type !== 'transport' || !report.selectedCandidatePairId) return;
        const pair = stats.get(report.selectedCandidatePairId);
        port = stats.get(pair?.remoteCandidateId)?.port ?? 0;
      });
      stats.forEach((report) => {
        if (report.type !== 'inbound-rtp') return;
        const remote = tracks.find((r) => r.receiver.track.id === report.trackIdentifier);
        if (!remote) return;
        const key = `${remote.info.participant}/${report.kind}`;
        const count = report.kind === 'video' ? report.framesDecoded ?? 0 : report.totalSamplesReceived ?? 0;
        out[key] = { count: (out[key]?.count ?? 0) + count, port };
      });
    }
    return out;
  });
}

/**
 * Waits until a page decodes video and receives audio from each of `ids`, all of it
 * over connections whose remote end is the server (`fromServer`) or is not.
 * @param {import('./lib/participant.js').Participant} p
 * @param {string[]} ids
 * @param {boolean} fromServer
 */
async function expectMediaFrom(p, ids, fromServer) {
  const keys = ids.flatMap((id) => [`${id}/video`, `${id}/audio`]);
  const first = await waitFor(`${p.name} to receive audio and video from ${ids.join(', ')}`, async () => {
    const got = await inbound(p);
    for (const key of keys) assert.ok(got[key]?.count > 0, `${key}: have ${JSON.stringify(got)}`);
    return got;
  }, MEDIA);
  await waitFor(`${p.name}'s audio and video from ${ids.join(', ')} to grow`, async () => {
    const got = await inbound(p);
    for (const key of keys) {
      assert.ok(got[key].count > first[key].count, `${key}: was ${JSON.stringify(first[key])}, now ${JSON.stringify(got[key])}`);
      if (fromServer) assert.equal(got[key].port, serverUdpPort, `${key} arrives from port ${got[key].port}, not the server's ${serverUdpPort}`);
      else assert.notEqual(got[key].port, serverUdpPort, `${key} arrives from the server's port ${serverUdpPort}`);
    }
  }, MEDIA);
}

/**
 * Starts counting, in the page, the frames the <video> of a remote camera tile
 * presents (requestVideoFrameCallback), and the longest time between two of them.
 * Also notes, for each video track of the participant the client hands to the page
 * (ontrack), how many frames its receiver had decoded by then: the client is to hand
 * over a new path's track only once it plays; and whom the client reports joining
 * or leaving. Marks the tile element so that a later check can tell it is the same
 * one.
 * @param {import('./lib/participant.js').Participant} p
 * @param {string} participantId
 */
async function startGapMonitor(p, participantId) {
  await p.page.evaluate(({ selector, id }) => {
    const tile = document.querySelector(selector);
    const video = tile?.querySelector('video');
    const client = window.switchboard;
    if (!(tile instanceof HTMLElement) || !(video instanceof HTMLVideoElement) || !client) throw new Error(`no video in ${selector}`);
    tile.dataset.monitored = '1';
    /** @type {Array<Promise<number>>} */
    const handedOver = [];
    /** @type {string[]} */
    const joined = [];
    /** @type {string[]} */
    const left = [];
    const monitor = { frames: 0, maxGapMs: 0, maxGapEnd: 0, swaps: 0, swapAt: 0, framesAtSwap: 0, last: 0, started: performance.now(), stopped: false, stop: () => {}, handedOver, joined, left };
    const { onparticipantjoined, onparticipantleft } = client;
    client.onparticipantjoined = (participant) => { joined.push(participant.id); onparticipantjoined?.(participant); };
    client.onparticipantleft = (participant) => { left.push(participant.id); onparticipantleft?.(participant); };
    /** @param {number} now */
    const gapTo = (now) => {
      if (monitor.frames === 0 || now - monitor.last <= monitor.maxGapMs) return;
      monitor.maxGapMs = now - monitor.last;
      monitor.maxGapEnd = now;
    };
    const ontrack = client.ontrack;
    client.ontrack = (participant, source, track, stream, info) => {
      const receiver = client.receivedTracks().find((r) => r.track === track)?.receiver;
      if (!monitor.stopped && participant === id && track.kind === 'video' && receiver) {
        handedOver.push(receiver.getStats().then((stats) => {
          let decoded = 0;
          stats.forEach((report) => { if (report.type === 'inbound-rtp') decoded += report.framesDecoded ?? 0; });
          return decoded;
        }));
      }
      ontrack?.(participant, source, track, stream, info);
    };
    /** @type {MediaProvider | null} */
    let source = video.srcObject;
    /** @param {number} now */
    const onFrame = (now) => {
      if (monitor.stopped) return;
      gapTo(now);
      monitor.last = Math.max(monitor.last, now);
      monitor.frames++;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    // A stall that has not ended yet counts too; a new source gets a callback of its
    // own, in case the pending one went with the old.
    const timer = setInterval(() => {
      gapTo(performance.now());
      if (video.srcObject !== source) {
        source = video.srcObject;
        monitor.swaps++;
        monitor.swapAt = performance.now();
        monitor.framesAtSwap = monitor.frames;
        video.requestVideoFrameCallback(onFrame);
      }
    }, 150);
    monitor.stop = () => {
      monitor.stopped = true;
      clearInterval(timer);
      gapTo(performance.now());
    };
    // @ts-ignore: a test's own handle on the page
    window.gapMonitor = monitor;
  }, { selector: tileSelector(participantId, 'camera'), id: participantId });
}

/** Frames the tile must show after it changed source before the gap is read. */
const FRAMES_AFTER_SWAP = 15;

/**
 * Waits until the tile has changed source and shown FRAMES_AFTER_SWAP frames since,
 * then stops the page's gap monitor, logs what it saw and checks it: frames were shown
 * all along, in the same tile element, which now shows a track of `path`, and never
 * stopped for more than MAX_GAP_MS.
 * @param {import('./lib/participant.js').Participant} p
 * @param {string} participantId
 * @param {'sfu' | 'mesh'} path
 * @param {string} what  the switch, for the log
 */
async function stopGapMonitor(p, participantId, path, what) {
  await waitFor(`${p.name}'s tile of ${participantId} to show ${FRAMES_AFTER_SWAP} frames of its new source`, async () => {
    // @ts-ignore: set by startGapMonitor
    const got = await p.page.evaluate(() => ({ swaps: window.gapMonitor.swaps, since: window.gapMonitor.frames - window.gapMonitor.framesAtSwap }));
    assert.ok(got.swaps >= 1 && got.since >= FRAMES_AFTER_SWAP, JSON.stringify(got));
  }, SLOW);
  const seen = await p.page.evaluate(async ({ selector, id }) => {
    // @ts-ignore: set by startGapMonitor
    const monitor = window.gapMonitor;
    monitor.stop();
    const decodedAtHandover = await Promise.all(monitor.handedOver);
    const tile = document.querySelector(selector);
    const video = tile?.querySelector('video');
    const shown = video?.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks()[0] : undefined;
    const remote = window.switchboard?.receivedTracks().find((r) => r.track === shown);
    return {
      frames: monitor.frames, maxGapMs: Math.round(monitor.maxGapMs), swaps: monitor.swaps, decodedAtHandover,
      gapEndFromSwapMs: Math.round(monitor.maxGapEnd - monitor.swapAt), gapEndFromStartMs: Math.round(monitor.maxGapEnd - monitor.started),
      swapFromStartMs: Math.round(monitor.swapAt - monitor.started), joined: monitor.joined, left: monitor.left,
      sameTile: tile instanceof HTMLElement && tile.dataset.monitored === '1',
      shownPath: remote?.path ?? null, shownParticipant: remote?.info.participant ?? null, shownId: id,
    };
  }, { selector: tileSelector(participantId, 'camera'), id: participantId });
  console.log(`${what}: at ${p.name}, the largest gap between two frames of the remote video was ${seen.maxGapMs} ms ` +
    `(it ended ${seen.gapEndFromStartMs} ms into the measurement, ${seen.gapEndFromSwapMs} ms from the tile's last change of source, ` +
    `seen within 150 ms at ${seen.swapFromStartMs} ms; ${seen.frames} frames, ` +
    `${seen.swaps} source change(s); frames decoded of each new track when handed to the page: ${seen.decodedAtHandover.join(', ')})`);
  assert.ok(seen.sameTile, `${p.name}: the tile was replaced`);
  assert.ok(!seen.joined.includes(participantId) && !seen.left.includes(participantId),
    `${p.name}: the client reported ${participantId} joining ${JSON.stringify(seen.joined)} or leaving ${JSON.stringify(seen.left)}`);
  assert.ok(seen.swaps >= 1, `${p.name}: the tile never took the new path's track`);
  assert.ok(seen.decodedAtHandover.length >= 1 && seen.decodedAtHandover.every((n) => n > 0),
    `${p.name}: the client handed over a new path's video before it played (frames decoded by then: ${seen.decodedAtHandover.join(', ')})`);
  assert.equal(seen.shownPath, path, `${p.name}: the tile shows a track of the ${seen.shownPath} path`);
  assert.equal(seen.shownParticipant, participantId, `${p.name}: the tile shows another participant's track`);
  assert.ok(seen.maxGapMs <= MAX_GAP_MS, `${p.name}: the remote video stopped for ${seen.maxGapMs} ms (more than ${MAX_GAP_MS} ms), ` +
    `until ${seen.gapEndFromSwapMs} ms from the tile's change of source (negative: on the old path, before it)`);
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

/**
 * Chat entries a page shows.
 * @param {import('./lib/participant.js').Participant} p
 */
function chatLog(p) {
  return p.page.locator('#chat-log .chat-entry').evaluateAll((items) =>
    items.map((li) => ({ from: li.getAttribute('data-from'), text: li.querySelector('.chat-text')?.textContent })));
}

/**
 * Sends a chat message from one page and waits for it on every page.
 * @param {import('./lib/participant.js').Participant} from
 * @param {string} fromId
 * @param {import('./lib/participant.js').Participant[]} people
 * @param {string} text
 */
async function chat(from, fromId, people, text) {
  await from.page.fill('#chat-input', text);
  await from.page.press('#chat-input', 'Enter');
  for (const viewer of people) {
    await waitFor(`${viewer.name} to show "${text}"`, async () => {
      const entries = await chatLog(viewer);
      assert.ok(entries.some((e) => e.text === text && e.from === fromId), `chat log: ${JSON.stringify(entries)}`);
    }, SLOW);
  }
}

/**
 * The participant ids a page lists, sorted.
 * @param {import('./lib/participant.js').Participant} p
 */
async function listed(p) {
  const ids = await p.page.locator('#participants [data-participant]').evaluateAll((items) => items.map((li) => li.getAttribute('data-participant')));
  return ids.sort();
}

const runs = [
  { title: 'WebSocket', transports: ['websocket', 'websocket', 'websocket'] },
  { title: 'Server-Sent Events', transports: ['sse', 'sse', 'sse'] },
  { title: 'one page on WebSocket, one on SSE', transports: ['websocket', 'sse', 'websocket'] },
];

for (const [run, { title, transports }] of runs.entries()) {
  test(`an auto room grows from mesh to SFU and shrinks back (${title})`, { timeout: 600_000 },
    (t) => autoRoom(t, transports, run === 0));
}

/**
 * @param {import('node:test').TestContext} t
 * @param {string[]} transports  Alice's, Bob's and Carol's: 'websocket' or 'sse'
 * @param {boolean} extras  also check mute and screen share after the switch
 */
async function autoRoom(t, transports, extras) {
  const room = uniqueRoom('auto');
  const names = ['Alice', 'Bob', 'Carol'];
  /** @param {number} i */
  const join = async (i) => {
    const params = { mode: 'auto', ...(transports[i] === 'sse' ? { transport: 'sse' } : {}) };
    const p = await joinByLink(browser, server.url, room, names[i], { params, timeout: 120_000, initScript: smallCamera });
    opened.push(p);
    return p;
  };
  const alice = await join(0);
  const bob = await join(1);
  const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);

  await step(t, 'two pages talk peer to peer: the server holds no peer connection for them', async () => {
    await expectMode(alice, 'mesh', 1);
    await expectMode(bob, 'mesh', 1);
    assert.match(alice.page.url(), /mode=auto/, 'the share link keeps mode=auto');
    await Promise.all([expectMediaFrom(alice, [bobId], false), expectMediaFrom(bob, [aliceId], false)]);
    await Promise.all([expectVideoFlowing(alice, [`${bobId}/camera`], MEDIA), expectVideoFlowing(bob, [`${aliceId}/camera`], MEDIA)]);
    assert.equal(await serverPeerConnections(), 0, 'peer connections held by the server');
  });

  const before = `before the switch ${Date.now()}`;
  await step(t, 'chat works in mesh mode', () => chat(alice, aliceId, [alice, bob], before));

  /** @type {import('./lib/participant.js').Participant} */
  let carol;
  let carolId = '';
  await step(t, 'a third page promotes the room to SFU; the first two keep their tiles, video never stopping for more than 1 s', async () => {
    // Carol's page loads first and joins with the button, so that the gap measured
    // is that of the switch, not of a browser page starting up.
    const url = new URL(server.url);
    url.search = new URLSearchParams({ room, name: 'Carol', mode: 'auto', ...(transports[2] === 'sse' ? { transport: 'sse' } : {}) }).toString();
    carol = await openPage(browser, url.href, 'Carol', { initScript: smallCamera });
    opened.push(carol);
    await startGapMonitor(alice, bobId);
    await startGapMonitor(bob, aliceId);
    await carol.page.click('#join-button');
    carolId = await waitFor('Carol to join', () => carol.id(), SLOW);
    for (const p of [alice, bob, carol]) await expectMode(p, 'sfu', 2);
    await Promise.all([
      stopGapMonitor(alice, bobId, 'sfu', `mesh to SFU (${transports.join('/')})`),
      stopGapMonitor(bob, aliceId, 'sfu', `mesh to SFU (${transports.join('/')})`),
    ]);
    await expectServerPeerConnections(6);
    assert.equal(await alice.id(), aliceId, 'Alice keeps her participant id');
    assert.equal(await bob.id(), bobId, 'Bob keeps his participant id');
  });

  await step(t, 'all three see and hear each other through the SFU', async () => {
    const people = [{ p: alice, others: [bobId, carolId] }, { p: bob, others: [aliceId, carolId] }, { p: carol, others: [aliceId, bobId] }];
    await Promise.all(people.map(({ p, others }) => expectMediaFrom(p, others, true)));
    await Promise.all(people.map(({ p, others }) => expectVideoFlowing(p, others.map((id) => `${id}/camera`), MEDIA)));
    const all = [aliceId, bobId, carolId].sort();
    for (const { p, others } of people) {
      assert.deepEqual(await listed(p), all, `${p.name} lists everyone once`);
      for (const id of others) assert.equal(await p.page.locator(tileSelector(id, 'camera')).count(), 1, `${p.name}: one camera tile of ${id}`);
    }
  });

  await step(t, 'chat goes on: the log kept, a new message reaches everyone', async () => {
    for (const p of [alice, bob]) {
      assert.ok((await chatLog(p)).some((e) => e.text === before), `${p.name} lost the chat log`);
    }
    await chat(bob, bobId, [alice, bob, carol], `after the switch ${Date.now()}`);
  });

  if (extras) {
    await step(t, 'mute and screen share work after the switch', async () => {
      await alice.page.click('#btn-mic');
      const sent = await alice.page.evaluate(() => window.switchboard?.publisherConnection?.getSenders()
        .filter((s) => s.track?.kind === 'audio').map((s) => s.track?.enabled));
      assert.deepEqual(sent, [false], 'Alice sends her microphone disabled');
      await alice.page.click('#btn-mic');
      await alice.page.click('#btn-screen');
      await Promise.all([bob, carol].map((viewer) => expectVideoFlowing(viewer, [`${aliceId}/screen`], MEDIA)));
      await alice.page.click('#btn-screen');
      for (const viewer of [bob, carol]) {
        await waitFor(`${viewer.name} to drop Alice's screen tile`, async () => {
          assert.equal(await viewer.page.locator(tileSelector(aliceId, 'screen')).count(), 0);
        }, SLOW);
      }
    });
  }

  await step(t, 'the third page leaves: gone within 5 s; the room goes back to mesh, video never stopping for more than 1 s', async () => {
    // A microphone muted before the switch is sent muted after it.
    if (extras) await alice.page.click('#btn-mic');
    await startGapMonitor(alice, bobId);
    await startGapMonitor(bob, aliceId);
    await carol.context.close();
    await expectGone([alice, bob], carolId, 'Carol');
    await expectMode(alice, 'mesh', 1);
    await expectMode(bob, 'mesh', 1);
    await Promise.all([
      stopGapMonitor(alice, bobId, 'mesh', `SFU to mesh (${transports.join('/')})`),
      stopGapMonitor(bob, aliceId, 'mesh', `SFU to mesh (${transports.join('/')})`),
    ]);
    await expectServerPeerConnections(0);
    await Promise.all([expectMediaFrom(alice, [bobId], false), expectMediaFrom(bob, [aliceId], false)]);
    assert.deepEqual(await listed(alice), [aliceId, bobId].sort(), 'Alice lists the two of them');
    if (extras) {
      const sent = await alice.page.evaluate(() => [...(window.switchboard?.mesh?.peers.values() ?? [])]
        .flatMap((peer) => peer.pc.getSenders().filter((s) => s.track?.kind === 'audio').map((s) => s.track?.enabled)));
      assert.deepEqual(sent, [false], 'Alice sends her microphone muted to Bob');
      assert.equal(await alice.page.getAttribute('#btn-mic', 'aria-pressed'), 'true', 'the mic button still says muted');
      await alice.page.click('#btn-mic');
    }
  });

  await step(t, 'no page threw an uncaught error, broke the Content-Security-Policy or shows an error', async () => {
    for (const p of [alice, bob, carol]) expectCleanLog(p);
    for (const p of [alice, bob]) {
      assert.deepEqual(await p.page.locator('.notice.error').allTextContents(), [], `${p.name}'s error notices`);
    }
  });
  await alice.context.close();
  await bob.context.close();
}

test('joins and leaves during a switch: a newcomer joins the new mode, one who leaves is gone once', { timeout: 600_000 }, async (t) => {
  const room = uniqueRoom('auto-during');
  /** @param {string} name */
  const join = async (name) => {
    const p = await joinByLink(browser, server.url, room, name, { params: { mode: 'auto' }, timeout: 120_000, initScript: smallCamera });
    opened.push(p);
    return p;
  };
  const alice = await join('Alice');
  const bob = await join('Bob');
  const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);
  await expectMode(alice, 'mesh', 1);
  await expectMode(bob, 'mesh', 1);
  // Alice's client keeps its `switched` to itself: the switch stays open until the
  // test sends it (or the server's timeout).
  await alice.page.evaluate(() => {
    const client = window.switchboard;
    if (!client) throw new Error('no client');
    // @ts-ignore: a test's own handle on the page
    window.heldSwitched = [];
    // @ts-ignore: replaces the method for this client only
    client.sendSwitched = (epoch) => { window.heldSwitched.push(epoch); };
    // @ts-ignore
    window.reported = { joined: [], left: [] };
    // What the server sent: one participant-left per room a leaver was in.
    // @ts-ignore
    window.leftMessages = [];
    const transport = client.transport;
    const onmessage = transport?.onmessage;
    if (!transport || !onmessage) throw new Error('no transport');
    transport.onmessage = (m) => {
      // @ts-ignore
      if (m?.type === 'participant-left') window.leftMessages.push(m.participant?.id);
      onmessage(m);
    };
    const { onparticipantjoined, onparticipantleft } = client;
    // @ts-ignore
    client.onparticipantjoined = (p) => { window.reported.joined.push(p.id); onparticipantjoined?.(p); };
    // @ts-ignore
    client.onparticipantleft = (p) => { window.reported.left.push(p.id); onparticipantleft?.(p); };
  });
  const switching = () => alice.page.evaluate(() => window.switchboard?.switching?.epoch ?? null);

  const carol = await join('Carol');
  const carolId = await carol.id();
  let epoch = 0;
  await step(t, 'the third page starts a switch to SFU that waits for Alice', async () => {
    epoch = await waitFor('Alice to be switching', async () => {
      const got = await switching();
      assert.ok(got !== null, 'not switching');
      return got;
    }, SLOW);
    await waitFor('Alice to be done on her side (and keep it to herself)', async () => {
      // @ts-ignore
      assert.deepEqual(await alice.page.evaluate(() => window.heldSwitched), [epoch]);
    }, SLOW);
    assert.equal(await alice.page.getAttribute('#state', 'data-switching'), String(epoch), '#state[data-switching]');
  });

  /** @type {import('./lib/participant.js').Participant} */
  let dave;
  let daveId = '';
  await step(t, 'a page that joins during the switch joins the new mode directly', async () => {
    dave = await join('Dave');
    daveId = await dave.id();
    await expectMode(dave, 'sfu', 3);
    assert.equal(await dave.page.evaluate(() => window.switchboard?.switching), null, 'Dave never switches');
    await expectMediaFrom(dave, [aliceId, bobId, carolId], true);
    assert.equal(await switching(), epoch, 'the switch is still open');
  });

  await step(t, 'a page that leaves during the switch is gone from the others within 5 s, reported once', async () => {
    await bob.context.close();
    await expectGone([alice, carol, dave], bobId, 'Bob');
    assert.equal(await switching(), epoch, 'the switch is still open');
    // @ts-ignore
    const sent = await alice.page.evaluate(() => window.leftMessages);
    console.log(`Alice got ${sent.length} participant-left message(s) for the page that left during the switch`);
    assert.ok(sent.length >= 1 && sent.every((id) => id === bobId), `participant-left messages: ${JSON.stringify(sent)}`);
  });

  await step(t, 'the switch ends: everyone left is in SFU mode, seen once, with media through the server', async () => {
    await alice.page.evaluate((n) => window.switchboard?.sendQuietly({ type: 'switched', epoch: n }), epoch);
    for (const p of [alice, carol, dave]) await expectMode(p, 'sfu', 2);
    await expectMediaFrom(alice, [carolId, daveId], true);
    await expectServerPeerConnections(6);
    // @ts-ignore
    const reported = await alice.page.evaluate(() => window.reported);
    assert.deepEqual(reported, { joined: [carolId, daveId], left: [bobId] }, 'what Alice\'s client reported');
    const all = [aliceId, carolId, daveId].sort();
    for (const p of [alice, carol, dave]) assert.deepEqual(await listed(p), all, `${p.name} lists everyone once`);
  });

  await step(t, 'no page threw an uncaught error, broke the Content-Security-Policy or shows an error', async () => {
    for (const p of [alice, bob, carol, dave]) expectCleanLog(p);
    for (const p of [alice, carol, dave]) {
      assert.deepEqual(await p.page.locator('.notice.error').allTextContents(), [], `${p.name}'s error notices`);
    }
  });
  for (const p of [alice, carol, dave]) await p.context.close();
});

test('a peer whose media never comes on the new path: the others wait for it 10 s, showing the old path, then give up', { timeout: 600_000 }, async (t) => {
  const room = uniqueRoom('auto-giveup');
  /** @param {string} name */
  const join = async (name) => {
    const p = await joinByLink(browser, server.url, room, name, { params: { mode: 'auto' }, timeout: 120_000, initScript: smallCamera });
    opened.push(p);
    return p;
  };
  const alice = await join('Alice');
  const bob = await join('Bob');
  const [aliceId, bobId] = await Promise.all([alice.id(), bob.id()]);
  await expectMode(alice, 'mesh', 1);
  await expectMode(bob, 'mesh', 1);
  await expectVideoFlowing(alice, [`${bobId}/camera`], MEDIA);
  // Bob's client sends nothing to the SFU: as if its publisher connection never got through.
  await bob.page.evaluate(() => {
    // @ts-ignore: replaces the method for this client only
    window.switchboard.publishSfu = async () => {};
  });
  // Alice's page notes when the switch started, and what her tile of Bob showed when
  // her client said switched.
  await alice.page.evaluate((selector) => {
    const client = window.switchboard;
    const video = document.querySelector(selector)?.querySelector('video');
    if (!client || !(video instanceof HTMLVideoElement)) throw new Error(`no client or no video in ${selector}`);
    const seen = { started: 0, switchedAfterMs: -1, lastFrameAgoMs: -1, shownPath: '' };
    let lastFrame = 0;
    /** @param {number} now */
    const onFrame = (now) => { lastFrame = now; video.requestVideoFrameCallback(onFrame); };
    video.requestVideoFrameCallback(onFrame);
    const { onmodechange } = client;
    client.onmodechange = (mode, switching) => {
      if (switching) seen.started = performance.now();
      onmodechange?.(mode, switching);
    };
    const sendSwitched = client.sendSwitched.bind(client);
    client.sendSwitched = (epoch) => {
      const now = performance.now();
      seen.switchedAfterMs = now - seen.started;
      seen.lastFrameAgoMs = now - lastFrame;
      const shown = video.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks()[0] : undefined;
      seen.shownPath = client.receivedTracks().find((r) => r.track === shown)?.path ?? 'none';
      sendSwitched(epoch);
    };
    // @ts-ignore: a test's own handle on the page
    window.giveUp = seen;
  }, tileSelector(bobId, 'camera'));

  const carol = await join('Carol');
  const carolId = await carol.id();
  await step(t, 'Alice says switched only after waiting 10 s for Bob, his mesh video playing on her tile meanwhile', async () => {
    const seen = await waitFor('Alice to say switched', async () => {
      // @ts-ignore
      const got = await alice.page.evaluate(() => window.giveUp);
      assert.ok(got.switchedAfterMs >= 0, `not yet: ${JSON.stringify(got)}`);
      return got;
    }, SLOW);
    console.log(`Alice said switched ${Math.round(seen.switchedAfterMs)} ms into the switch; Bob's tile then showed the ${seen.shownPath} path, its last frame ${Math.round(seen.lastFrameAgoMs)} ms before`);
    assert.ok(seen.switchedAfterMs >= 9_500, `Alice said switched after ${seen.switchedAfterMs} ms, before giving up`);
    assert.equal(seen.shownPath, 'mesh', 'Bob\'s tile showed his old path');
    assert.ok(seen.lastFrameAgoMs <= MAX_GAP_MS, `Bob's video on Alice's tile had stopped ${seen.lastFrameAgoMs} ms before`);
  });

  await step(t, 'the switch completes then, not at the server\'s timeout: everyone in SFU mode, Alice and Carol see each other', async () => {
    // The server's switch timeout is 60 s: giving up after 10 s ends the switch long before.
    for (const p of [alice, carol]) await expectMode(p, 'sfu', 2);
    await waitFor('Bob to be in sfu mode', async () => {
      assert.equal(await bob.page.getAttribute('#state', 'data-mode'), 'sfu', '#state[data-mode]');
      assert.equal(await bob.page.getAttribute('#state', 'data-switching'), null, '#state[data-switching]');
    }, SLOW);
    // @ts-ignore
    const started = await alice.page.evaluate(() => window.giveUp.started);
    const took = await alice.page.evaluate((t0) => performance.now() - t0, started);
    assert.ok(took < 30_000, `the switch took ${took} ms: it ended at the server's timeout`);
    await Promise.all([expectMediaFrom(alice, [carolId], true), expectMediaFrom(carol, [aliceId], true)]);
  });

  await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
    for (const p of [alice, bob, carol]) expectCleanLog(p);
  });
  for (const p of [alice, bob, carol]) await p.context.close();
});
