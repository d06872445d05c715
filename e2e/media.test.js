// Real Chromium against the media core: what a browser receives of another's
// camera and microphone, beyond the frames themselves: the retransmission stream
// offered with the video, the publisher's sender reports forwarded for audio and
// video, and a late joiner's video starting from the cached keyframe.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launchBrowser } from './lib/browser.js';
import { joinByLink, uniqueRoom, expectVideoFlowing, expectCleanLog } from './lib/participant.js';
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

/**
 * The subscriber connection's received streams: per kind, its inbound-rtp counters
 * and the remote-outbound-rtp ones (what the sender reports said).
 * @param {import('./lib/participant.js').Participant} p
 * @returns {Promise<Record<string, {packets: number, plis: number, reports: number, reportedPackets: number}>>}
 */
function received(p) {
  return p.page.evaluate(async () => {
    /** @type {Record<string, {packets: number, plis: number, reports: number, reportedPackets: number}>} */
    const out = {};
    const pc = window.switchboard?.subscriberConnection;
    if (!pc) return out;
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type !== 'inbound-rtp' && r.type !== 'remote-outbound-rtp') return;
      out[r.kind] ??= { packets: 0, plis: 0, reports: 0, reportedPackets: 0 };
      if (r.type === 'inbound-rtp') {
        out[r.kind].packets += r.packetsReceived ?? 0;
        out[r.kind].plis += r.pliCount ?? 0;
      } else {
        out[r.kind].reports += r.reportsSent ?? 0;
        out[r.kind].reportedPackets += r.packetsSent ?? 0;
      }
    });
    return out;
  });
}

test('what a browser receives of another: RTX offered, sender reports for audio and video, a late joiner started from the cached keyframe',
  { timeout: 120_000 }, async (t) => {
    const room = uniqueRoom('media');
    const alice = await joinByLink(browser, server.url, room, 'Alice');
    opened.push(alice);
    const bob = await joinByLink(browser, server.url, room, 'Bob');
    opened.push(bob);
    const aliceId = await alice.id();

    await step(t, "Bob decodes and plays Alice's camera", () => expectVideoFlowing(bob, [`${aliceId}/camera`]));

    await step(t, "the server's offer to Bob carries a retransmission stream for the video", async () => {
      const sdp = await bob.page.evaluate(() => window.switchboard?.subscriberConnection?.remoteDescription?.sdp ?? '');
      assert.match(sdp, /a=rtpmap:\d+ rtx\/90000/, 'no video/rtx format offered');
      assert.match(sdp, /a=ssrc-group:FID \d+ \d+/, 'no RTX SSRC announced');
    });

    await step(t, "Bob gets sender reports for Alice's audio and video, counting what he was sent", async () => {
      await waitFor("sender reports of both of Alice's streams at Bob", async () => {
        const r = await received(bob);
        for (const kind of ['audio', 'video']) {
          const s = r[kind];
          assert.ok(s && s.reports > 0, `${kind}: ${JSON.stringify(s)}; have ${JSON.stringify(r)}`);
          // The counts are the down-track's own: never more than Bob received
          // plus what is still on the way.
          assert.ok(s.reportedPackets > 0 && s.reportedPackets <= s.packets + 100, `${kind}: ${JSON.stringify(s)}`);
        }
      }, { timeout: 20_000 });
    });

    await step(t, "Carol, joining while Alice's last keyframe is fresh, decodes at once", async () => {
      // Bob's join made Alice send a keyframe a moment ago: Carol's video starts
      // from it, in the cache.
      const carol = await joinByLink(browser, server.url, room, 'Carol');
      opened.push(carol);
      await expectVideoFlowing(carol, [`${aliceId}/camera`]);
      const r = await received(carol);
      t.diagnostic(`Carol's keyframe requests (PLI) for what she receives: ${r.video?.plis ?? 'none'}`);
    });

    await step(t, 'no page threw an uncaught error or broke the Content-Security-Policy', async () => {
      for (const p of opened) expectCleanLog(p);
    });
  });
