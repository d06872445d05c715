// Polling waits that say why they have not succeeded yet.

import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls `check` until it returns without throwing, and returns what it returned.
 * A throw means "not yet": its message is the reason, and the last reason is part
 * of the error when `timeout` runs out. Use node:assert inside `check`.
 *
 * @template T
 * @param {string} what   what is being waited for, for the error message
 * @param {() => Promise<T> | T} check
 * @param {{timeout?: number, interval?: number}} [options]
 * @returns {Promise<T>}
 */
export async function waitFor(what, check, { timeout = 10_000, interval = 200 } = {}) {
  const started = Date.now();
  let last;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      last = err;
    }
    if (Date.now() - started >= timeout) {
      const why = last instanceof Error ? last.message : String(last);
      throw new Error(`gave up after ${timeout} ms waiting for ${what}; last: ${why}`, { cause: last });
    }
    await delay(interval);
  }
}
