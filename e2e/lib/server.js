// Starts the switchboard binary on a free loopback port for a test, and stops it.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const e2eDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Path of the server binary: $SWITCHBOARD_BIN, or bin/switchboard at the repository root. */
export function serverBinary() {
  const fromEnv = process.env.SWITCHBOARD_BIN;
  return fromEnv ? path.resolve(fromEnv) : path.resolve(e2eDir, '..', 'bin', 'switchboard');
}

/** Lines of server output kept for failure reports. */
const MAX_LOG_LINES = 400;

/**
 * A running server.
 * @typedef {object} RunningServer
 * @property {string} url     base URL, ending in '/'
 * @property {() => string} log  the latest output lines (stdout and stderr)
 * @property {() => Promise<void>} stop  SIGTERM, then SIGKILL after 5 s
 */

/**
 * Starts the server with `--addr 127.0.0.1:0 --ice-loopback --ice-tcp-port 0` and waits until it prints
 * its URL (the first `http://` or, with TLS, `https://` URL on stdout).
 * @param {{args?: string[], timeout?: number}} [options]
 * @returns {Promise<RunningServer>}
 */
export async function startServer({ args = [], timeout = 15_000 } = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`server binary ${bin} not found: build it with "go build -o bin/switchboard ./cmd/switchboard" or set SWITCHBOARD_BIN`);
  }
  // A free ICE-TCP port: test files run in parallel, each with a server.
  const child = spawn(bin, ['--addr', '127.0.0.1:0', '--ice-loopback', '--ice-tcp-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** @type {string[]} */
  const lines = [];
  const keep = (/** @type {string} */ prefix, /** @type {string} */ text) => {
    for (const line of text.split('\n')) {
      if (!line) continue;
      lines.push(`${prefix} ${line}`);
      if (lines.length > MAX_LOG_LINES) lines.shift();
    }
  };
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const url = await new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(`no URL on stdout within ${timeout} ms`), timeout);
    const fail = (/** @type {string} */ why) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`server ${bin} did not start: ${why}\n${lines.join('\n')}`));
    };
    const onError = (/** @type {Error} */ err) => fail(err.message);
    const onExit = (/** @type {number | null} */ code, /** @type {string | null} */ signal) =>
      fail(`exited (code ${code}, signal ${signal})`);
    child.once('error', onError);
    child.once('exit', onExit);
    child.stderr.setEncoding('utf8').on('data', (chunk) => keep('[server]', chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      keep('[server:out]', chunk);
      stdout += chunk;
      const match = /https?:\/\/[^\s"'<>]+/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      resolve(match[0].endsWith('/') ? match[0] : `${match[0]}/`);
    });
  });

  let stopping = null;
  return {
    url,
    log: () => lines.join('\n'),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}
