// A TCP proxy in front of the server, for tests of a network that drops: it can cut
// every connection through it, and hold new ones until released (a stall).

import net from 'node:net';

/**
 * @typedef {object} Proxy
 * @property {string} url   base URL through the proxy, ending in '/'
 * @property {() => void} cut       destroys every connection through the proxy
 * @property {() => void} hold      new connections wait, unanswered, until release
 * @property {() => void} release
 * @property {() => number} streams how many connections began with `GET <path>sse`
 * @property {() => Promise<void>} stop
 */

/**
 * @param {string} target  base URL of the server (http://127.0.0.1:port/)
 * @returns {Promise<Proxy>}
 */
export async function startProxy(target) {
  const to = new URL(target);
  /** @type {Set<net.Socket>} */
  const open = new Set();
  /** @type {net.Socket[]} */
  let waiting = [];
  let held = false;
  let streams = 0;

  /** @param {net.Socket} client */
  const forward = (client) => {
    const upstream = net.connect(Number(to.port), to.hostname);
    open.add(client);
    open.add(upstream);
    client.once('data', (chunk) => {
      if (chunk.toString('latin1').startsWith(`GET ${to.pathname}sse`)) streams++;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      s.on('error', () => { client.destroy(); upstream.destroy(); });
      s.on('close', () => { open.delete(s); client.destroy(); upstream.destroy(); });
    }
  };
  const server = net.createServer((client) => {
    client.on('error', () => client.destroy());
    if (held) waiting.push(client);
    else forward(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const port = /** @type {net.AddressInfo} */ (server.address()).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    cut: () => { for (const s of open) s.destroy(); },
    hold: () => { held = true; },
    release: () => {
      held = false;
      const queued = waiting;
      waiting = [];
      for (const c of queued) if (!c.destroyed) forward(c);
    },
    streams: () => streams,
    stop: async () => {
      for (const s of [...open, ...waiting]) s.destroy();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
