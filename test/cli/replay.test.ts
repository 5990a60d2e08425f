/**
 * replay and triage: the round trip found → saved → replayed → same signature
 * and same trace; bad files exit 2 with one line and nothing is overwritten.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findHarness } from '../../harnesses';
import { main } from '../../src/cli/main';
import { Fuzzer } from '../../src/fuzz/engine';
import { scenarioSource } from '../../src/fuzz/scenario';
import { decode, stripHeader } from '../../src/fuzz/codec';
import { escapeHtml } from '../../src/report/html-timeline';
import { renderSwimlanes } from '../../src/report/swimlane';

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (s) => void out.push(s), (s) => void err.push(s));
  return { code, out, err };
}

/** Fuzzes unsync (switch off) into a fresh crash dir until the underflow WARN is stored; returns its file. */
function findCrash(dir: string): string {
  const h = findHarness('unsync')!;
  let file: string | null = null;
  new Fuzzer(h, h.configure(['tdp-unsync-lock'], []), { seed: 1, runs: 3000, crashDir: dir, shouldStop: () => file !== null }, (e) => {
    if (e.event === 'crash' && e.signature.startsWith('WARN clear_unsync_child_bit') && e.file !== null) file = e.file;
  }).run();
  if (file === null) throw new Error('no crash found');
  return file;
}

const dir = mkdtempSync(join(tmpdir(), 'mmufuzz-replay-'));
const crash = findCrash(dir);
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('round trip: the saved crash replays to its signature and to the trace stored beside it', async (t) => {
  const r = await run(['replay', crash, '--trace']);
  t.is(r.code, 0);
  t.regex(r.out[r.out.length - 1]!, /^reproduces: WARN clear_unsync_child_bit: unsync_children underflow/);
  const stored = readFileSync(`${crash}.trace.txt`, 'utf8');
  const h = findHarness('unsync')!;
  const s = decode(h, stripHeader(readFileSync(crash)));
  const o = h.execute(s, h.configure(['tdp-unsync-lock'], []), scenarioSource(s), { trace: true });
  t.true(stored.startsWith(renderSwimlanes(o)));
  t.is(r.out[0], renderSwimlanes(o));
});

test('--html writes a standalone page with every thread and the oracle message, strings escaped', async (t) => {
  const html = join(dir, 'timeline.html');
  const r = await run(['replay', crash, '--html', html]);
  t.is(r.code, 0);
  const page = readFileSync(html, 'utf8');
  for (const th of ['vcpu0', 'vcpu1', 'vcpu2']) t.true(page.includes(`<th class="thread">${th}</th>`));
  t.true(page.includes('WARN clear_unsync_child_bit: unsync_children underflow'));
  t.false(/<(script|link|img)\b/i.test(page));
  t.true(page.includes('&gt;')); // arrows in '->'-style details are escaped
  t.is(escapeHtml('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
});

test('a file whose recorded signature no longer matches exits 1', async (t) => {
  const copy = join(dir, 'changed');
  writeFileSync(copy, readFileSync(crash));
  const side = JSON.parse(readFileSync(`${crash}.json`, 'utf8')) as { signature: string };
  writeFileSync(`${copy}.json`, JSON.stringify({ ...side, signature: 'WARN elsewhere: something else' }));
  const r = await run(['replay', copy]);
  t.is(r.code, 1);
  t.regex(r.out.join('\n'), /does not reproduce: expected WARN elsewhere: something else, got WARN clear_unsync_child_bit/);
});

test('bad files: one line, exit 2, nothing overwritten', async (t) => {
  const bad = join(dir, 'bad');
  mkdirSync(bad, { recursive: true });
  const cases: [string, Uint8Array | null, string | null, RegExp][] = [
    ['empty', new Uint8Array(0), '{}', /empty file/],
    ['foreign', Buffer.from('hello world'), '{}', /not an mmufuzz input/],
    ['truncated', Buffer.from([0x4d, 0x4d]), '{}', /not an mmufuzz input/],
    ['version', Buffer.from([0x4d, 0x4d, 0x46, 9, 1, 2]), '{}', /version 9 is not supported/],
    ['nosidecar', readFileSync(crash), null, /sidecar missing/],
    ['corrupt', readFileSync(crash), '{not json', /sidecar not valid JSON/],
    ['foreign-sidecar', readFileSync(crash), '{"format": 7}', /not a mmufuzz crash sidecar/],
  ];
  for (const [name, bytes, side, why] of cases) {
    const f = join(bad, name);
    if (bytes !== null) writeFileSync(f, bytes);
    if (side !== null) writeFileSync(`${f}.json`, side);
    const before = readdirSync(bad).sort();
    for (const cmd of [['replay', f], ['replay', f, '--html', join(bad, `${name}.html`)]]) {
      const r = await run(cmd);
      t.is(r.code, 2, name);
      t.is(r.err.length, 1, name);
      t.regex(r.err[0]!, why, name);
    }
    t.deepEqual(readdirSync(bad).sort(), before, `${name}: nothing written`);
  }
  const r = await run(['replay', bad]);
  t.is(r.code, 2);
  t.regex(r.err[0]!, /is a directory/);
  const m = await run(['replay', join(bad, 'missing')]);
  t.is(m.code, 2);
  t.regex(m.err[0]!, /no such file/);
});

test('triage: one row per signature with the smallest reproducer; bad files are reported and skipped', async (t) => {
  const r = await run(['triage', dir, '--json']);
  t.is(r.code, 0);
  const rows = (JSON.parse(r.out[0]!) as { crashes: { signature: string; count: number; harness: string; file: string; ops: number }[] }).crashes;
  t.true(rows.some((x) => x.signature === 'WARN clear_unsync_child_bit: unsync_children underflow' && x.file === crash && x.harness === 'unsync'));
  t.is(new Set(rows.map((x) => x.signature)).size, rows.length);
  const human = await run(['triage', dir]);
  t.regex(human.out.join('\n'), /WARN clear_unsync_child_bit: unsync_children underflow/);
  const missing = await run(['triage', join(dir, 'nope')]);
  t.is(missing.code, 2);
  t.is(missing.err.length, 1);
});

test('minimize keeps the signature, does not grow the program, and writes a replayable file with sidecar and trace', async (t) => {
  const out = join(dir, 'min', 'crash-min');
  mkdirSync(join(dir, 'min'), { recursive: true });
  const r = await run(['minimize', crash, '-o', out]);
  t.is(r.code, 0);
  t.regex(r.out[0]!, /^minimized WARN clear_unsync_child_bit: unsync_children underflow: (\d+) ops .* -> (\d+) ops/);
  const [, before, after] = /: (\d+) ops .* -> (\d+) ops/.exec(r.out[0]!)!;
  t.true(Number(after) <= Number(before));
  const rep = await run(['replay', out]);
  t.is(rep.code, 0);
  const side = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { found: { minimized: boolean } };
  t.true(side.found.minimized);
  t.true(readFileSync(`${out}.trace.txt`, 'utf8').includes('unsync_children underflow'));
  const bad = await run(['minimize', join(dir, 'nope')]);
  t.is(bad.code, 2);
});

test('regress adds the crash with its expected outcome per switch setting; bad files are rejected before anything is written', async (t) => {
  const rdir = join(dir, 'regressions');
  const r = await run(['regress', crash, '--dir', rdir]);
  t.is(r.code, 0);
  const files = readdirSync(rdir);
  t.is(files.length, 1);
  const e = JSON.parse(readFileSync(join(rdir, files[0]!), 'utf8')) as { settings: { off: string[]; expect: string }[] };
  t.deepEqual(e.settings.map((s) => [s.off, s.expect]), [
    [['tdp-unsync-lock'], 'WARN clear_unsync_child_bit: unsync_children underflow'],
    [[], 'clean'],
  ]);
  const again = await run(['regress', crash, '--dir', rdir]);
  t.is(again.code, 0);
  t.regex(again.out[0]!, /already in the suite/);
  const bad = await run(['regress', crash, join(dir, 'nope'), '--dir', join(dir, 'regressions2')]);
  t.is(bad.code, 2);
  t.is(bad.err.length, 1);
  t.false(readdirSync(dir).includes('regressions2'));
});
