// Starts the switchboard binary on a free loopback port for a test, and stops it.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
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

/**
 * A running redis-server.
 * @typedef {object} RunningRedis
 * @property {string} url   redis://127.0.0.1:port/0
 * @property {() => Promise<void>} stop   kills it (SIGKILL): its data is gone
 * @property {() => Promise<void>} start  starts it again, empty, on the same port
 */

/**
 * Starts redis-server (the Debian package) on a free loopback port, without
 * persistence, and waits until it accepts connections.
 * @param {{timeout?: number}} [options]
 * @returns {Promise<RunningRedis>}
 */
export async function startRedis({ timeout = 10_000 } = {}) {
  const port = await freePort();
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;
  /** @type {Promise<unknown>} */
  let exited = Promise.resolve();
  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', resolve));
    const spawnError = new Promise((_, reject) => proc.once('error', (err) =>
      reject(new Error(`redis-server did not start (apt-get install redis-server): ${err.message}`))));
    const deadline = Date.now() + timeout;
    for (;;) {
      const up = await Promise.race([canConnect(port), spawnError]);
      if (up) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} does not accept connections after ${timeout} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    start,
  };
}

/**
 * A cluster of nodes sharing one Redis.
 * @typedef {object} RunningCluster
 * @property {RunningServer[]} nodes
 * @property {RunningRedis} redis
 * @property {() => Promise<void>} stop  stops the nodes, then Redis
 */

/**
 * Starts Redis and `size` nodes of the binary joined to it (--redis, a shared
 * --cluster-secret, --node-id node1...), each on a free loopback port.
 * @param {{size?: number, args?: string[]}} [options]
 * @returns {Promise<RunningCluster>}
 */
export async function startCluster({ size = 2, args = [] } = {}) {
  const redis = await startRedis();
  const secret = `e2e-cluster-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
  /** @type {RunningServer[]} */
  const nodes = [];
  try {
    for (let i = 1; i <= size; i++) {
      nodes.push(await startServer({ args: ['--redis', redis.url, '--cluster-secret', secret, '--node-id', `node${i}`, ...args] }));
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
    throw err;
  }
  return {
    nodes,
    redis,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await redis.stop();
    },
  };
}

/** @returns {Promise<number>} a loopback TCP port that was free a moment ago */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {number} port
 * @returns {Promise<boolean>} whether a TCP connection to the port opens
 */
function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}
