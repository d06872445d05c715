// The /watch page plays a room through WHEP: a browser participant publishes its
// camera, another browser watches the room and decodes the video.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, openPage, uniqueRoom, expectCleanLog } from './lib/participant.js';
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

/**
 * framesDecoded of the watch page's inbound video, and the frames its <video> played.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<{decoded: number, played: number, state: string}>}
 */
function watchCounters(page) {
  return page.evaluate(async () => {
    const whep = window.switchboardWatch;
    let decoded = 0;
    const stats = await whep?.pc?.getStats();
    stats?.forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') decoded += report.framesDecoded ?? 0;
    });
    const video = /** @type {HTMLVideoElement} */ (document.getElementById('player'));
    return { decoded, played: video.getVideoPlaybackQuality().totalVideoFrames, state: whep?.state ?? 'none' };
  });
}

test('/watch?room=R plays the video a browser participant publishes', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('watch');
  const watcher = await openPage(browser, `${server.url}watch?room=${room}`, 'watcher');
  const publisher = await joinByLink(browser, server.url, room, 'Publisher');
  try {
    const first = await waitFor('the watch page to decode and play video', async () => {
      const c = await watchCounters(watcher.page);
      assert.ok(c.decoded > 0 && c.played > 0, `watch page: ${JSON.stringify(c)}`);
      return c;
    }, { timeout: 30_000 });
    await waitFor('the watch page to keep playing', async () => {
      const c = await watchCounters(watcher.page);
      assert.ok(c.decoded > first.decoded && c.played > first.played, `was ${JSON.stringify(first)}, now ${JSON.stringify(c)}`);
    }, { timeout: 15_000 });
    assert.equal(await watcher.page.getAttribute('#state', 'data-state'), 'playing');
    expectCleanLog(watcher);
  } catch (err) {
    console.error(`server log tail:\n${server.log().split('\n').slice(-40).join('\n')}`);
    console.error([...watcher.log, ...publisher.log].join('\n'));
    throw err;
  } finally {
    await watcher.context.close();
    await publisher.context.close();
  }
});
