// Headless Chromium (Debian's /usr/bin/chromium) with fake camera, microphone and screen.

import { chromium } from 'playwright-core';

/** Where Debian puts Chromium; override with $CHROMIUM. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  // fake camera and microphone, and the same for getDisplayMedia (a synthetic screen)
  '--use-fake-device-for-media-stream',
  // grant camera, microphone and screen prompts without asking
  '--use-fake-ui-for-media-stream',
  // the server's ICE candidates are on 127.0.0.1 in tests
  '--allow-loopback-in-peer-connection',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // remote audio starts without a click, as it would after one in real use
  '--autoplay-policy=no-user-gesture-required',
  // pages in other contexts keep rendering and decoding at full rate
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/**
 * @param {string[]} [extraArgs]  flags beyond CHROMIUM_ARGS
 * @returns {Promise<import('playwright-core').Browser>}
 */
export function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
