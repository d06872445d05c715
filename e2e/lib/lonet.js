// Makes paths on loopback unreachable for a test, with tc, as the Go tests'
// internal/lonet does: the server's UDP port, say, to show that a browser connects
// another way.
//
// It needs CAP_NET_ADMIN in a network namespace of its own that holds nothing but
// loopback (as root: unshare -n, as scripts/test.sh runs the browser tests).
// Elsewhere it throws and says so, rather than let a test skip or change the host's
// own loopback. The kernel has no "drop" action (act_gact) and no prio queue here:
// packets are dropped by steering them into an htb class whose queue holds none.

import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * Packets to drop: those of proto to or from port; with from (an IPv4 address or
 * prefix), only those between port and from. Without from, IPv4 and IPv6.
 * @typedef {{proto: 'udp' | 'tcp', port: number, from?: string}} Rule
 */

let nextPref = 1000;

/** @param {string[]} args */
function tc(args) {
  try {
    execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = /** @type {{stderr?: Buffer}} */ (err).stderr?.toString().trim() ?? '';
    throw new Error(`tc ${args.join(' ')}: ${stderr || err} (tc needs CAP_NET_ADMIN: run as root inside unshare -n, as scripts/test.sh does)`);
  }
}

/** Throws unless this network namespace holds nothing but loopback. */
function checkPrivate() {
  const others = Object.keys(os.networkInterfaces()).filter((name) => name !== 'lo');
  if (others.length) {
    throw new Error(`interfaces ${others.join(', ')} are not loopback: this test changes loopback's traffic control, ` +
      "and runs only in a network namespace of its own (as root: unshare -n sh -c 'ip link set lo up; ...')");
  }
}

/**
 * tc filter arguments (after the pref) that steer a rule's packets into the
 * dropping class.
 * @param {Rule} r
 * @returns {string[][]}
 */
function filters(r) {
  const proto = r.proto === 'udp' ? '17' : '6';
  const port = String(r.port);
  const steer = ['flowid', '1:2'];
  if (r.from) {
    return [
      ['protocol', 'ip', 'u32', 'match', 'ip', 'protocol', proto, '0xff', 'match', 'ip', 'dport', port, '0xffff', 'match', 'ip', 'src', r.from, ...steer],
      ['protocol', 'ip', 'u32', 'match', 'ip', 'protocol', proto, '0xff', 'match', 'ip', 'sport', port, '0xffff', 'match', 'ip', 'dst', r.from, ...steer],
    ];
  }
  return ['dport', 'sport'].flatMap((dir) => [
    ['protocol', 'ip', 'u32', 'match', 'ip', 'protocol', proto, '0xff', 'match', 'ip', dir, port, '0xffff', ...steer],
    ['protocol', 'ipv6', 'u32', 'match', 'ip6', 'protocol', proto, '0xff', 'match', 'ip6', dir, port, '0xffff', ...steer],
  ]);
}

/**
 * Drops the packets of rules on loopback until the returned function is called.
 * One test at a time: the queues go with it.
 * @param {Rule[]} rules
 * @returns {() => void}
 */
export function drop(...rules) {
  checkPrivate();
  tc(['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '1']);
  const undo = () => tc(['qdisc', 'del', 'dev', 'lo', 'root']);
  try {
    tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '100gbit', 'quantum', '60000']);
    tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '100gbit', 'quantum', '60000']);
    tc(['qdisc', 'add', 'dev', 'lo', 'parent', '1:2', 'handle', '2:', 'pfifo', 'limit', '0']);
    for (const r of rules) {
      for (const f of filters(r)) {
        tc(['filter', 'add', 'dev', 'lo', 'parent', '1:', 'pref', String(nextPref++), ...f]);
      }
    }
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}

/**
 * Limits the UDP packets sent on loopback to port (one browser connection's local
 * port: the pages share 127.0.0.1, their ports tell them apart) to rateKbit kbit/s,
 * through a queue of `queue` packets (the rest are dropped), until the returned
 * function is called. IPv4 and IPv6. One test at a time, as drop.
 * @param {{port: number, rateKbit: number, queue?: number}} limit
 * @returns {() => void}
 */
export function throttle({ port, rateKbit, queue = 20 }) {
  checkPrivate();
  tc(['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '1']);
  const undo = () => tc(['qdisc', 'del', 'dev', 'lo', 'root']);
  try {
    tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '100gbit', 'quantum', '60000']);
    const rate = `${rateKbit}kbit`;
    tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', rate, 'ceil', rate, 'burst', '2k', 'cburst', '2k']);
    tc(['qdisc', 'add', 'dev', 'lo', 'parent', '1:2', 'handle', '2:', 'pfifo', 'limit', String(queue)]);
    for (const [family, match] of [['ip', 'ip'], ['ipv6', 'ip6']]) {
      tc(['filter', 'add', 'dev', 'lo', 'parent', '1:', 'pref', String(nextPref++), 'protocol', family, 'u32',
        'match', match, 'protocol', '17', '0xff', 'match', match, 'dport', String(port), '0xffff', 'flowid', '1:2']);
    }
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}
