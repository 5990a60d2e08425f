/**
 * The HTML timeline in a real browser: headless Chromium (Debian's package,
 * installed by .ci/run) loads the page and its rendered DOM must show every
 * thread and the oracle's message, with input strings escaped (no markup
 * injected). Skipped, with a note, where Chromium is not installed and this
 * is not CI.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToyCounter } from '../../harnesses/toy-counter';
import { renderHtmlTimeline } from '../../src/report/html-timeline';
import { FuzzBytesSource, encodePreemptions } from '../../src/strategies';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

test('the timeline page shows every thread and the oracle message in headless Chromium', (t) => {
  if (CHROMIUM === undefined) {
    if (process.env.CI !== undefined) {
      t.fail('Chromium is not installed (.ci/run installs Debian\'s chromium package)');
    } else {
      t.log('Chromium not installed: skipped (apt-get install chromium to run it)');
      t.pass();
    }
    return;
  }
  const o = runToyCounter(new FuzzBytesSource(encodePreemptions([{ step: 1, thread: 1 }])), { trace: true }, 3);
  const title = 'lost update <b id="injected">bold</b> & "quotes"';
  const dir = mkdtempSync(join(tmpdir(), 'mmufuzz-html-'));
  try {
    const file = join(dir, 'timeline.html');
    writeFileSync(file, renderHtmlTimeline(o, title, [['harness', 'toy <i>counter</i>']]));
    const dom = execFileSync(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--dump-dom', `file://${file}`,
    ], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    for (const th of o.threads) t.true(dom.includes(`<th class="thread">${th}</th>`), `thread ${th} shown`);
    t.true(dom.includes('INVARIANT lost-update: counter increments lost'));
    t.true(dom.includes('counter is 1 after 3 increments') || dom.includes('counter is 2 after 3 increments'));
    t.false(dom.includes('<b id="injected">'), 'markup in the title was escaped');
    t.false(dom.includes('<i>counter</i>'));
    t.true(dom.includes('lost update &lt;b id="injected"&gt;bold&lt;/b&gt;'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
