// Acceptance test of the call view with real browsers: the tile grid fills the window
// for 1 to 4 people and follows its size; the active speaker (a page whose fake
// microphone plays a loud tone) is highlighted at the others; a muted microphone shows
// on the others' tile; each tile rates its connection; the camera and microphone are
// switched mid-call without renegotiation, in an SFU room and in a mesh room.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer, serverBinary } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing, tileSelector, expectCleanLog } from './lib/participant.js';
import { waitFor } from './lib/wait.js';
import { stepper } from './lib/step.js';

/** Bounds of the waits for media on a machine shared with other work: when to give up, not how fast it must be. */
const MEDIA = { timeout: 60_000, growTimeout: 30_000 };

/** @type {import('./lib/server.js').RunningServer} */
let server;
/** Chromium whose fake microphones play a loud 440 Hz tone. */
/** @type {import('playwright-core').Browser} */
let loud;
/** Chromium whose fake microphones play silence. */
/** @type {import('playwright-core').Browser} */
let quiet;
/** @type {string} */
let dir;
/** @type {import('./lib/participant.js').Participant[]} */
const opened = [];

/**
 * A mono 16-bit 48 kHz WAV file of one second: a sine of `hz` at `amplitude` (0..1).
 * @param {number} hz
 * @param {number} amplitude
 */
function wav(hz, amplitude) {
  const rate = 48_000;
  const samples = rate;
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    buf.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  }
  return buf;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'switchboard-meeting-'));
  const tone = path.join(dir, 'tone.wav');
  const silence = path.join(dir, 'silence.wav');
  await writeFile(tone, wav(440, 0.8));
  await writeFile(silence, wav(440, 0));
  server = await startServer({ args: ['--log-level', 'debug'] });
  // Three fake cameras and microphones each. Chromium's fake cameras take turns in
  // pixel format: fake_device_1 gives Y16 (a depth camera), which WebRTC does not
  // encode; fake_device_2 gives MJPEG, which it does: the tests switch to that one.
  const fakes = '--use-fake-device-for-media-stream=device-count=3';
  loud = await launchBrowser([fakes, `--use-file-for-fake-audio-capture=${tone}`]);
  quiet = await launchBrowser([fakes, `--use-file-for-fake-audio-capture=${silence}`]);
});

after(async () => {
  await loud?.close();
  await quiet?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const step = stepper(() => server, opened);

/**
 * Geometry of a page's tile area and tiles, in CSS px.
 * @param {import('playwright-core').Page} page
 */
function gridGeometry(page) {
  return page.evaluate(() => {
    const tiles = /** @type {HTMLElement} */ (document.getElementById('tiles'));
    const box = (/** @type {Element} */ e) => { const r = e.getBoundingClientRect(); return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height }; };
    return {
      area: box(tiles),
      scroll: { height: tiles.scrollHeight, clientHeight: tiles.clientHeight, width: tiles.scrollWidth, clientWidth: tiles.clientWidth },
      viewport: { width: window.innerWidth, height: window.innerHeight },
      tiles: [...tiles.querySelectorAll('.tile')].map(box),
      cols: tiles.dataset.cols,
    };
  });
}

/**
 * Asserts that `n` tiles fill the tile area: all inside it and the viewport, 16:9, no
 * scrolling, the tiles spanning the area's width or height, covering much of it.
 * Returns the width of a tile.
 * @param {Awaited<ReturnType<typeof gridGeometry>>} g
 * @param {number} n
 */
function expectFilledGrid(g, n) {
  const show = JSON.stringify(g);
  assert.equal(g.tiles.length, n, `tiles: ${show}`);
  // The tile area is most of the window (the sidebar and the controls take the rest).
  assert.ok(g.area.width >= 0.55 * g.viewport.width && g.area.height >= 0.6 * g.viewport.height, `the tile area is small: ${show}`);
  const slack = 1.5;
  for (const t of g.tiles) {
    assert.ok(t.left >= g.area.left - slack && t.right <= g.area.right + slack && t.top >= g.area.top - slack && t.bottom <= g.area.bottom + slack, `a tile outside the area: ${show}`);
    assert.ok(t.right <= g.viewport.width && t.bottom <= g.viewport.height, `a tile outside the viewport: ${show}`);
    assert.ok(Math.abs(t.width / t.height - 16 / 9) < 0.05, `a tile not 16:9: ${show}`);
  }
  assert.ok(g.scroll.height <= g.scroll.clientHeight + 1 && g.scroll.width <= g.scroll.clientWidth + 1, `the tile area overflows: ${show}`);
  const spanW = Math.max(...g.tiles.map((t) => t.right)) - Math.min(...g.tiles.map((t) => t.left));
  const spanH = Math.max(...g.tiles.map((t) => t.bottom)) - Math.min(...g.tiles.map((t) => t.top));
  const fill = Math.max(spanW / g.area.width, spanH / g.area.height);
  assert.ok(fill >= 0.9, `the tiles span ${(fill * 100).toFixed(0)} % of the area's width or height, want 90 %: ${show}`);
  const covered = g.tiles.reduce((sum, t) => sum + t.width * t.height, 0) / (g.area.width * g.area.height);
  assert.ok(covered >= 0.4, `the tiles cover ${(covered * 100).toFixed(0)} % of the area, want 40 %: ${show}`);
  return g.tiles[0].width;
}

/**
 * Waits until `page` shows `n` tiles filling the area, and returns their width.
 * @param {import('./lib/participant.js').Participant} p
 * @param {number} n
 */
function waitFilledGrid(p, n) {
  return waitFor(`${p.name} to show ${n} tiles filling the area`, async () => expectFilledGrid(await gridGeometry(p.page), n));
}

/**
 * Starts counting the publish-offers a page sends (wraps its transport's send).
 * @param {import('playwright-core').Page} page
 */
function countPublishOffers(page) {
  return page.evaluate(() => {
    const client = /** @type {any} */ (window.switchboard);
    const transport = client.transport;
    const send = transport.send.bind(transport);
    /** @type {any} */ (window).publishOffers = 0;
    transport.send = (/** @type {any} */ message) => {
      if (message?.type === 'publish-offer') /** @type {any} */ (window).publishOffers++;
      return send(message);
    };
  });
}

/**
 * Starts sampling, every 100 ms, framesDecoded of a participant's camera as a viewer
 * receives it (in the page, so that the samples are evenly spaced).
 * @param {import('playwright-core').Page} page
 * @param {string} participantId
 */
function sampleFrames(page, participantId) {
  return page.evaluate((id) => {
    const client = /** @type {any} */ (window.switchboard);
    /** @type {Array<{at: number, frames: number}>} */
    const samples = [];
    /** @type {any} */ (window).frameSamples = samples;
    const read = async () => {
      const connections = client.mesh ? [...client.mesh.peers.values()].map((/** @type {any} */ p) => ({ pc: p.pc, tracks: p.remoteTracks() }))
        : [{ pc: client.subscriberConnection, tracks: client.remoteTracks() }];
      let frames = 0;
      for (const { pc, tracks } of connections) {
        const mids = new Set(tracks.filter((/** @type {any} */ t) => t.participant === id && t.source === 'camera' && t.kind === 'video').map((/** @type {any} */ t) => t.mid));
        (await pc.getStats()).forEach((/** @type {any} */ r) => { if (r.type === 'inbound-rtp' && mids.has(r.mid)) frames += r.framesDecoded ?? 0; });
      }
      samples.push({ at: performance.now(), frames });
    };
    /** @type {any} */ (window).frameTimer = setInterval(() => { void read(); }, 100);
  }, participantId);
}

/**
 * Stops sampling and returns the longest time without a new decoded frame, how many
 * frames were decoded from the first sample on, and the longest interval between two
 * samples (how long the page itself stalled).
 * @param {import('playwright-core').Page} page
 */
function stopSampling(page) {
  return page.evaluate(() => {
    clearInterval(/** @type {any} */ (window).frameTimer);
    /** @type {Array<{at: number, frames: number}>} */
    const samples = /** @type {any} */ (window).frameSamples;
    let longest = 0;
    let lastNew = samples[0]?.at ?? 0;
    for (let i = 1; i < samples.length; i++) {
      if (samples[i].frames > samples[i - 1].frames) {
        longest = Math.max(longest, samples[i].at - lastNew);
        lastNew = samples[i].at;
      }
    }
    longest = Math.max(longest, (samples.at(-1)?.at ?? 0) - lastNew);
    let maxInterval = 0;
    for (let i = 1; i < samples.length; i++) maxInterval = Math.max(maxInterval, samples[i].at - samples[i - 1].at);
    return {
      longestGapMs: longest, maxSampleIntervalMs: maxInterval,
      decoded: (samples.at(-1)?.frames ?? 0) - (samples[0]?.frames ?? 0), samples: samples.length,
    };
  });
}

/**
 * Settings of the page's local camera or microphone track.
 * @param {import('playwright-core').Page} page
 * @param {'audio' | 'video'} kind
 */
function localDevice(page, kind) {
  return page.evaluate((k) => {
    const sent = /** @type {any} */ (window.switchboard).localTracks().find((/** @type {any} */ l) => l.track.kind === k && l.source !== 'screen');
    const settings = sent.track.getSettings();
    return { deviceId: settings.deviceId, label: sent.track.label, state: sent.track.readyState };
  }, kind);
}

/**
 * Longest interval between two of the viewer's samples (100 ms apart when the page
 * runs freely) above which the page counts as starved of CPU: its gaps in decoding
 * then say nothing about the switch.
 */
const STARVED_MS = 400;

/**
 * Switches the camera (or microphone) of a page to another device through the picker,
 * checking that a viewer keeps decoding the camera throughout with no gap over 1 s,
 * that no publish-offer went out, and that the track sent is the new device's. On a
 * machine so busy that the viewer's page itself stalled (its 100 ms sampler fell
 * behind by more than STARVED_MS), the measurement does not count and the switch is
 * made again (to the previous device), up to three times.
 * @param {import('./lib/participant.js').Participant} sender
 * @param {import('./lib/participant.js').Participant} viewer
 * @param {string} senderId
 * @param {'audio' | 'video'} kind
 * @param {boolean} sfu  whether publish-offers are counted (an SFU room)
 */
async function switchDevice(sender, viewer, senderId, kind, sfu) {
  const select = kind === 'video' ? '#camera-select' : '#mic-select';
  await waitFor(`${sender.name}'s ${select} to offer two devices`, async () => {
    assert.equal(await sender.page.isEnabled(select), true, `${select} is disabled`);
  });
  if (sfu) await countPublishOffers(sender.page);
  const starved = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const { before, after, frames } = await switchOnce(sender, viewer, senderId, kind, select);
    if (frames.maxSampleIntervalMs > STARVED_MS) {
      starved.push(frames);
      console.log(`${viewer.name}'s page stalled for ${frames.maxSampleIntervalMs.toFixed(0)} ms during the switch: measuring again`);
      continue;
    }
    assert.ok(frames.decoded > 0, `${viewer.name} decoded ${sender.name}'s camera: ${JSON.stringify(frames)}`);
    assert.ok(frames.longestGapMs <= 1000, `${viewer.name} decoded nothing for ${frames.longestGapMs.toFixed(0)} ms: ${JSON.stringify(frames)}`);
    if (sfu) assert.equal(await sender.page.evaluate(() => /** @type {any} */ (window).publishOffers), 0, 'publish-offers sent during the switches');
    return { before, after };
  }
  assert.fail(`${viewer.name}'s page was starved of CPU in every attempt: ${JSON.stringify(starved)}`);
}

/**
 * One switch to another device (for a camera: fake_device_2 or back to fake_device_0),
 * with the viewer's samples of the sender's camera from before it to 3 s after it.
 * @param {import('./lib/participant.js').Participant} sender
 * @param {import('./lib/participant.js').Participant} viewer
 * @param {string} senderId
 * @param {'audio' | 'video'} kind
 * @param {string} select
 */
async function switchOnce(sender, viewer, senderId, kind, select) {
  const before = await localDevice(sender.page, kind);
  const other = await sender.page.locator(`${select} option`).evaluateAll((options, [current, video]) =>
    options.map((o) => /** @type {HTMLOptionElement} */ (o))
      .find((o) => o.value !== current && o.value !== 'default' && (!video || o.textContent !== 'fake_device_1'))?.value,
  [before.deviceId, kind === 'video']);
  assert.ok(other, `${sender.name} has another device than ${before.deviceId}`);
  await sampleFrames(viewer.page, senderId);
  await waitFor(`${viewer.name} to sample ${sender.name}'s camera`, async () => {
    const n = await viewer.page.evaluate(() => /** @type {any} */ (window).frameSamples.length);
    assert.ok(n >= 10, `${n} samples`);
  });
  await sender.page.selectOption(select, other);
  const after = await waitFor(`${sender.name} to send the other device`, async () => {
    const now = await localDevice(sender.page, kind);
    assert.notEqual(now.deviceId, before.deviceId, `still ${JSON.stringify(now)}`);
    return now;
  });
  assert.equal(after.state, 'live');
  assert.equal(await sender.page.inputValue(select), after.deviceId, 'the picker shows the device in use');
  if (kind === 'video') {
    assert.notEqual(after.label, before.label, 'another camera');
    const showing = await sender.page.evaluate(() => {
      const video = /** @type {HTMLVideoElement} */ (document.querySelector('.tile.local[data-local="camera"] video'));
      return /** @type {MediaStream} */ (video.srcObject).getVideoTracks()[0].getSettings().deviceId;
    });
    assert.equal(showing, after.deviceId, 'the local tile shows the new camera');
  }
  // Decoding goes on for 3 s more after the switch.
  const started = Date.now();
  await waitFor(`${viewer.name} to sample 3 s after the switch`, () => assert.ok(Date.now() - started >= 3000), { interval: 500 });
  return { before, after, frames: await stopSampling(viewer.page) };
}

test('the call view: grid, active speaker, mute, quality, device switch (SFU room)', { timeout: 150_000 }, async (t) => {
  const room = uniqueRoom('meeting');
  const bob = await joinByLink(quiet, server.url, room, 'Bob');
  opened.push(bob);

  await step(t, 'one person: the own tile fills the area', async () => {
    await waitFilledGrid(bob, 1);
  });

  await step(t, 'the layout: largest 16:9 cells for the area; many tiles scroll rather than shrink below the minimum', async () => {
    const layouts = await bob.page.evaluate(async () => {
      const { bestLayout, MIN_TILE_WIDTH } = await import('./grid.js');
      return {
        min: MIN_TILE_WIDTH,
        one: bestLayout({ width: 1600, height: 900, gap: 0, tiles: 1 }),
        wide: bestLayout({ width: 1600, height: 450, gap: 0, tiles: 2 }),
        tall: bestLayout({ width: 800, height: 900, gap: 0, tiles: 2 }),
        screen: bestLayout({ width: 1600, height: 700, gap: 0, tiles: 3, featured: 1 }),
        many: bestLayout({ width: 800, height: 450, gap: 10, tiles: 40 }),
      };
    });
    const expectLayout = (/** @type {any} */ got, /** @type {number} */ cols, /** @type {number} */ rows, /** @type {number} */ width) => {
      assert.ok(got.cols === cols && got.rows === rows && Math.abs(got.width - width) <= 1 && Math.abs(got.height - (width * 9) / 16) <= 1,
        `want ${cols}x${rows} cells ${width} wide, got ${JSON.stringify(got)}`);
    };
    expectLayout(layouts.one, 1, 1, 1600);
    expectLayout(layouts.wide, 2, 1, 800);
    expectLayout(layouts.tall, 1, 2, 800);
    expectLayout(layouts.screen, 3, 2, 533); // the screen share's 2x2 cells and two more
    assert.equal(layouts.many.width >= layouts.min, true, JSON.stringify(layouts.many));
    assert.ok(layouts.many.rows * layouts.many.height > 450, `40 tiles run past the area: ${JSON.stringify(layouts.many)}`);
  });

  const carol = await joinByLink(quiet, server.url, room, 'Carol');
  opened.push(carol);
  await step(t, 'two people: two tiles fill the area', async () => {
    await waitFilledGrid(bob, 2);
  });

  const alice = await joinByLink(loud, server.url, room, 'Alice');
  opened.push(alice);
  await step(t, 'three people: three tiles fill the area', async () => {
    await waitFilledGrid(bob, 3);
  });

  const dave = await joinByLink(quiet, server.url, room, 'Dave');
  opened.push(dave);
  await step(t, 'four people: four tiles fill the area, and follow the window as it grows and shrinks', async () => {
    const normal = await waitFilledGrid(bob, 4);
    await bob.page.setViewportSize({ width: 1400, height: 950 });
    const large = await waitFor('the tiles to grow with the window', async () => {
      const width = expectFilledGrid(await gridGeometry(bob.page), 4);
      assert.ok(width > normal * 1.2, `tile width ${width}, was ${normal}`);
      return width;
    });
    await bob.page.setViewportSize({ width: 850, height: 520 });
    await waitFor('the tiles to shrink with the window', async () => {
      const width = expectFilledGrid(await gridGeometry(bob.page), 4);
      assert.ok(width < normal * 0.9, `tile width ${width}, was ${normal} (and ${large})`);
    });
    await bob.page.setViewportSize({ width: 1000, height: 700 });
  });

  await step(t, 'someone leaving: the others fill the area again', async () => {
    await dave.context.close();
    opened.splice(opened.indexOf(dave), 1);
    await waitFilledGrid(bob, 3);
  });

  const [aliceId, carolId] = await Promise.all([alice.id(), carol.id()]);
  const aliceTile = tileSelector(aliceId, 'camera');
  const carolTile = tileSelector(carolId, 'camera');
  await Promise.all([bob, carol].map((viewer) => expectVideoFlowing(viewer, [`${aliceId}/camera`], MEDIA)));

  await step(t, 'the browser sends the audio level: the server accepted the extension', async () => {
    const sdp = await alice.page.evaluate(() => window.switchboard?.publisherConnection?.remoteDescription?.sdp ?? '');
    assert.match(sdp, /a=extmap:\d+ urn:ietf:params:rtp-hdrext:ssrc-audio-level/);
  });

  await step(t, 'the loud page is the active speaker: highlighted and featured at the others, the quiet ones are not', async () => {
    for (const viewer of [bob, carol]) {
      await waitFor(`${viewer.name} to highlight Alice`, async () => {
        const state = await viewer.page.evaluate(([a, c]) => ({
          alice: document.querySelector(a)?.getAttribute('data-speaking'),
          featured: document.querySelector(a)?.getAttribute('data-featured'),
          carol: document.querySelector(c)?.getAttribute('data-speaking') ?? null,
          speakers: window.switchboard?.speakers,
        }), [aliceTile, carolTile]);
        assert.equal(state.alice, '', `Alice's tile: ${JSON.stringify(state)}`);
        assert.equal(state.featured, '', `Alice's tile is featured: ${JSON.stringify(state)}`);
        assert.equal(state.carol, null, `Carol (silent) is not highlighted: ${JSON.stringify(state)}`);
      }, { timeout: 15_000 });
    }
    // Featured, Alice's tile comes first of the remote tiles at Bob's.
    const first = await bob.page.evaluate(() => {
      const remote = [...document.querySelectorAll('#tiles .tile.remote')].map((e) => ({ id: /** @type {HTMLElement} */ (e).dataset.participant, top: e.getBoundingClientRect().top, left: e.getBoundingClientRect().left }));
      remote.sort((a, b) => a.top - b.top || a.left - b.left);
      return remote[0]?.id;
    });
    assert.equal(first, aliceId, 'the speaker\'s tile is first');
  });

  await step(t, 'each remote tile rates its connection, good or fair on loopback', async () => {
    await waitFor('Bob to rate Alice and Carol', async () => {
      const seen = await bob.page.evaluate(([a, c]) => [a, c].map((s) => {
        const q = document.querySelector(`${s} .quality`);
        return { rating: q?.getAttribute('data-quality') ?? null, measured: q?.getAttribute('title') ?? null };
      }), [aliceTile, carolTile]);
      const ratings = seen.map((r) => r.rating);
      // The title holds what the rating came from (loss, jitter, RTT, frame rate).
      for (const r of ratings) assert.ok(r === 'good' || r === 'fair', `ratings: ${JSON.stringify(ratings)}; measured: ${JSON.stringify(seen.map((r) => r.measured))}`);
    });
    const rated = await bob.page.evaluate(async () => {
      const { classify } = await import('./quality.js');
      const base = { loss: 0, jitterMs: 5, rttMs: 10, fps: 30, receiving: true };
      return [
        classify(base), classify({ ...base, loss: 0.05 }), classify({ ...base, loss: 0.2 }), classify({ ...base, jitterMs: 150 }),
        classify({ ...base, rttMs: 400 }), classify({ ...base, fps: 1 }), classify({ ...base, fps: null }), classify({ ...base, receiving: false }),
      ];
    });
    assert.deepEqual(rated, ['good', 'fair', 'poor', 'poor', 'fair', 'poor', 'good', 'poor']);
  });

  await step(t, 'a page mutes its microphone: the others show it muted', async () => {
    for (const viewer of [bob, carol]) {
      await waitFor(`${viewer.name} to have measured Alice, not muted`, async () => {
        const quality = await viewer.page.getAttribute(`${aliceTile} .quality`, 'data-quality');
        assert.ok(quality, 'not rated yet');
        assert.equal(await viewer.page.getAttribute(aliceTile, 'data-muted-audio'), null, 'Alice shows muted before she muted');
      });
    }
    await alice.page.click('#btn-mic');
    for (const viewer of [bob, carol]) {
      await waitFor(`${viewer.name} to show Alice muted`, async () => {
        // In an SFU room the server says so (mute -> track-muted with selfMuted).
        assert.equal(await viewer.page.getAttribute(aliceTile, 'data-muted-audio'), 'self');
      });
      await waitFor(`${viewer.name} to stop highlighting the muted Alice`, async () => {
        assert.equal(await viewer.page.getAttribute(aliceTile, 'data-speaking'), null);
      });
    }
    const shown = await bob.page.evaluate((a) => getComputedStyle(/** @type {Element} */ (document.querySelector(`${a} figcaption`)), '::after').content, aliceTile);
    assert.equal(shown, '"muted"', 'the tile says so');
  });

  await step(t, 'unmuted, the speaker is highlighted at the others within 1 s', async () => {
    // Each viewer notes when Alice's tile is highlighted; Alice notes when she unmutes.
    for (const viewer of [bob, carol]) {
      await viewer.page.evaluate((a) => {
        const tile = /** @type {Element} */ (document.querySelector(a));
        const observer = new MutationObserver(() => {
          if (!tile.hasAttribute('data-speaking')) return;
          /** @type {any} */ (window).speakingAt = Date.now();
          observer.disconnect();
        });
        observer.observe(tile, { attributes: true, attributeFilter: ['data-speaking'] });
      }, aliceTile);
    }
    const unmutedAt = await alice.page.evaluate(() => {
      /** @type {HTMLButtonElement} */ (document.getElementById('btn-mic')).click();
      return Date.now();
    });
    for (const viewer of [bob, carol]) {
      const at = await waitFor(`${viewer.name} to highlight Alice again`, async () => {
        const speakingAt = await viewer.page.evaluate(() => /** @type {any} */ (window).speakingAt);
        assert.ok(speakingAt, 'not yet');
        return speakingAt;
      });
      console.log(`${viewer.name} highlighted Alice ${at - unmutedAt} ms after she unmuted`);
      assert.ok(at - unmutedAt <= 1000, `${viewer.name} highlighted Alice ${at - unmutedAt} ms after she unmuted`);
      await waitFor(`${viewer.name} to show Alice unmuted`, async () => {
        assert.equal(await viewer.page.getAttribute(aliceTile, 'data-muted-audio'), null);
      });
    }
  });

  await step(t, 'switching the camera mid-call: the others keep decoding, no renegotiation', async () => {
    await switchDevice(alice, bob, aliceId, 'video', true);
  });

  await step(t, 'switching the microphone mid-call: no renegotiation, the others still hear the speaker', async () => {
    await switchDevice(alice, bob, aliceId, 'audio', true);
    await waitFor('Bob to highlight Alice on her new microphone', async () => {
      assert.equal(await bob.page.getAttribute(aliceTile, 'data-speaking'), '');
      assert.equal(await bob.page.getAttribute(aliceTile, 'data-muted-audio'), null);
    }, { timeout: 15_000 });
  });

  await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
    for (const p of [alice, bob, carol]) expectCleanLog(p);
  });
  for (const p of [alice, bob, carol]) await p.context.close();
  opened.length = 0;
});

test('switching the camera in a mesh room replaces it on the peer connection', { timeout: 90_000 }, async (t) => {
  const room = uniqueRoom('meeting-mesh');
  const erin = await joinByLink(loud, server.url, room, 'Erin', { params: { mode: 'mesh' } });
  const frank = await joinByLink(quiet, server.url, room, 'Frank', { params: { mode: 'mesh' } });
  opened.push(erin, frank);
  const erinId = await erin.id();
  await expectVideoFlowing(frank, [`${erinId}/camera`], MEDIA);
  await step(t, 'Frank keeps decoding Erin\'s camera across the switch', async () => {
    const offersBefore = await erin.page.evaluate(() => [.../** @type {any} */ (window.switchboard).mesh.peers.values()][0].stats.offersSent);
    await switchDevice(erin, frank, erinId, 'video', false);
    const offersAfter = await erin.page.evaluate(() => [.../** @type {any} */ (window.switchboard).mesh.peers.values()][0].stats.offersSent);
    assert.equal(offersAfter, offersBefore, 'Erin made no new offer');
    const sent = await erin.page.evaluate(() => [.../** @type {any} */ (window.switchboard).mesh.peers.values()][0].pc.getSenders()
      .filter((/** @type {RTCRtpSender} */ s) => s.track?.kind === 'video').map((/** @type {RTCRtpSender} */ s) => s.track?.getSettings().deviceId));
    const now = await localDevice(erin.page, 'video');
    assert.deepEqual(sent, [now.deviceId], 'the peer connection sends the new camera');
  });
  await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
    for (const p of [erin, frank]) expectCleanLog(p);
  });
});

test('an administrator mutes a microphone: the others show it muted by the server, then unmuted', { timeout: 90_000 }, async (t) => {
  const key = 'e2e-key';
  const secret = 'e2e-secret-0123456789-0123456789-abcdef';
  const admin = await startServer({ args: ['--api-key', key, '--api-secret', secret] });
  try {
    const mint = async (/** @type {string[]} */ args) => (await promisify(execFile)(serverBinary(), [
      'token', '--api-key', key, '--api-secret', secret, '--ttl', '10m', ...args,
    ])).stdout.trim();
    const room = uniqueRoom('meeting-admin');
    const gina = await joinByLink(loud, admin.url, room, 'Gina', { params: { token: await mint(['--room', room, '--identity', 'gina']) } });
    const hal = await joinByLink(quiet, admin.url, room, 'Hal', { params: { token: await mint(['--room', room, '--identity', 'hal']) } });
    opened.push(gina, hal);
    const ginaId = await gina.id();
    const tile = tileSelector(ginaId, 'camera');
    const adminToken = await mint(['--room', room, '--grants', 'admin']);
    const mic = await waitFor('Hal to know Gina\'s microphone', async () => {
      const id = await hal.page.evaluate((g) => [...(window.switchboard?.participants.get(g)?.tracks.values() ?? [])].find((i) => i.source === 'microphone')?.id, ginaId);
      assert.ok(id, 'no microphone track');
      return id;
    });
    const call = async (/** @type {string} */ what) => {
      const response = await fetch(new URL(`v1/admin/rooms/${room}/tracks/${mic}/${what}`, admin.url), { method: 'POST', headers: { Authorization: `Bearer ${adminToken}` } });
      assert.equal(response.status, 200, `${what}: ${await response.text()}`);
    };
    await step(t, 'Hal measures Gina, not muted', async () => {
      await waitFor('Hal to rate Gina, not muted', async () => {
        assert.ok(await hal.page.getAttribute(`${tile} .quality`, 'data-quality'), 'not rated yet');
        assert.equal(await hal.page.getAttribute(tile, 'data-muted-audio'), null);
      }, { timeout: 30_000 });
    });
    await step(t, 'muted by the administrator: data-muted-audio="server"', async () => {
      await call('mute');
      await waitFor('Hal to show Gina muted by the server', async () => {
        assert.equal(await hal.page.getAttribute(tile, 'data-muted-audio'), 'server');
      });
    });
    await step(t, 'unmuted: the flag goes', async () => {
      await call('unmute');
      await waitFor('Hal to show Gina unmuted', async () => {
        assert.equal(await hal.page.getAttribute(tile, 'data-muted-audio'), null);
      });
      for (const p of [gina, hal]) expectCleanLog(p);
    });
  } finally {
    await admin.stop();
  }
});
