// A test step that, when it fails, prints what the server and the pages said.

/**
 * Returns step(t, name, body): runs body as a subtest of t; on failure prints the tail
 * of the server's log, each opened page's console tail and notices, and whatever
 * describe(page) adds, then fails.
 * @param {() => import('./server.js').RunningServer} server
 * @param {import('./participant.js').Participant[]} opened
 * @param {(p: import('./participant.js').Participant) => Promise<string>} [describe]
 * @returns {(t: import('node:test').TestContext, name: string, body: () => Promise<void>) => Promise<void>}
 */
export function stepper(server, opened, describe) {
  return async (t, name, body) => {
    await t.test(name, async () => {
      try {
        await body();
      } catch (err) {
        console.error(`--- ${name} failed; server log tail:\n${server().log().split('\n').slice(-60).join('\n')}`);
        for (const p of opened) {
          if (p.log.length) console.error(p.log.slice(-30).join('\n'));
          const notices = await p.page.locator('.notice').allTextContents().catch(() => []);
          if (notices.length) console.error(`[${p.name} notices] ${notices.join(' | ')}`);
          const more = describe ? await describe(p).catch(() => '') : '';
          if (more) console.error(more);
        }
        throw err;
      }
    });
  };
}
