/**
 * The command line (DESIGN.md §6), run in-process through `main(argv, out,
 * err)`: `list`, usage errors (one line on stderr, exit 2), `fuzz` with
 * --json (events, a final `done`, exit 0 without crash and 1 with one) and
 * `--workers` (child processes of the compiled CLI, one merged `done`).
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HARNESSES } from '../../harnesses';
import { main } from '../../src/cli/main';
import { stripHeader } from '../../src/fuzz/codec';
import { SCHEDULE_PRIOR } from '../../src/fuzz/engine';
import { SWITCHES, VARIANTS } from '../../src/model/switches';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function run(argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => {
    out.push(s);
  }, (s) => {
    err.push(s);
  });
  return { code, out, err };
}

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mmufuzz-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Json = Record<string, unknown> & { event: string };

function events(lines: string[]): Json[] {
  return lines.map((l) => JSON.parse(l) as Json);
}

/** One line on stderr, nothing on stdout, exit 2. */
function usageError(t: ExecutionContext, r: Run, pattern: RegExp): void {
  t.is(r.code, 2);
  t.deepEqual(r.out, []);
  t.is(r.err.length, 1, `stderr: ${JSON.stringify(r.err)}`);
  t.false(r.err[0]!.includes('\n'));
  t.regex(r.err[0]!, pattern);
}

test('list prints every harness, switch and variant', async (t) => {
  const r = await run(['list']);
  t.is(r.code, 0);
  t.deepEqual(r.err, []);
  const text = r.out.join('\n');
  for (const h of HARNESSES) t.regex(text, new RegExp(`^  ${h.name} +${h.description.replace(/[()]/g, '\\$&')}$`, 'm'), h.name);
  for (const s of SWITCHES) t.regex(text, new RegExp(`^  ${s.name} +seed `, 'm'), s.name);
  for (const v of VARIANTS) t.regex(text, new RegExp(`^  ${v.name} +\\(${v.side} side\\)`, 'm'), v.name);
  t.regex(text, /^oracles: .*INVARIANT/m);
});

test('unknown harness', async (t) => {
  usageError(t, await run(['fuzz', 'no-such-harness', '--crashes', tempDir(t)]), /^mmufuzz: unknown harness 'no-such-harness' \(known: unsync, /);
});

test('unknown switch', async (t) => {
  usageError(t, await run(['fuzz', 'unsync', '--off', 'no-such-switch', '--crashes', tempDir(t)]), /^mmufuzz: unknown switch 'no-such-switch'/);
});

test('unknown variant', async (t) => {
  usageError(t, await run(['fuzz', 'unsync', '--variant', 'tdp-unsync-lock:nope', '--crashes', tempDir(t)]), /^mmufuzz: unknown variant 'tdp-unsync-lock:nope'/);
});

test('variant on the wrong side of its switch', async (t) => {
  const dir = tempDir(t);
  // An off-side variant with the switch on…
  usageError(t, await run(['fuzz', 'unsync', '--variant', 'tdp-unsync-lock:no-unsync', '--crashes', dir]), /^mmufuzz: variant 'tdp-unsync-lock:no-unsync' modifies the off side of tdp-unsync-lock: add --off tdp-unsync-lock$/);
  // …and an on-side variant with the switch off.
  usageError(t, await run(['fuzz', 'unsync', '--off', 'tdp-unsync-lock', '--variant', 'tdp-unsync-lock:read-lock-only', '--crashes', dir]), /^mmufuzz: variant 'tdp-unsync-lock:read-lock-only' modifies the on side/);
});

test('unwritable crash and corpus directories', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  usageError(t, await run(['fuzz', 'unsync', '--crashes', join(file, 'sub'), '--runs', '1']), /^mmufuzz: crash directory '.*a-file\/sub' is not writable \(ENOTDIR\)$/);
  usageError(t, await run(['fuzz', 'unsync', join(file, 'corpus'), '--crashes', join(dir, 'crashes'), '--runs', '1']), /^mmufuzz: corpus directory '.*a-file\/corpus' is not writable \(ENOTDIR\)$/);
  t.is(readFileSync(file, 'utf8'), 'not a directory', 'nothing already written is lost');
});

test('non-numeric and negative --runs', async (t) => {
  const dir = tempDir(t);
  usageError(t, await run(['fuzz', 'unsync', '--runs', 'lots', '--crashes', dir]), /'--runs <n>' argument 'lots' is invalid/);
  usageError(t, await run(['fuzz', 'unsync', '--runs', '-1', '--crashes', dir]), /'--runs <n>' argument '-1' is invalid/);
  usageError(t, await run(['fuzz', 'unsync', '--workers', '0', '--crashes', dir]), /'--workers <n>' argument '0' is invalid/);
});

test('--direct takes a share between 0 and 1', async (t) => {
  const dir = tempDir(t);
  for (const bad of ['1.5', '-0.1', 'half', '']) {
    usageError(t, await run(['fuzz', 'unsync', '--direct', bad, '--crashes', dir]), new RegExp(`'--direct <share>' argument '${bad.replace('.', '\\.')}' is invalid`));
  }
});

test('fuzz --direct: conflict-directed schedules run and find seed 004\'s race (the crash file says which input found it)', async (t) => {
  const crashes = join(tempDir(t), 'crashes');
  const r = await run(['fuzz', 'memslot-rmaps', '--off', 'slots-arch-lock', '--direct', '0.3', '--runs', '400', '--seed', '2', '--crashes', crashes, '--no-minimize', '--json']);
  t.is(r.code, 1);
  const found = events(r.out).filter((e) => e.event === 'crash' && e.file !== null).map((e) => JSON.parse(readFileSync(`${e.file as string}.json`, 'utf8')) as { found: { mutation: string } });
  t.true(found.length > 0);
  t.true(found.some((c) => c.found.mutation.startsWith('direct(thread ')), JSON.stringify(found.map((c) => c.found.mutation)));
});

test('unknown command, unknown option, unknown strategy, missing harness', async (t) => {
  usageError(t, await run(['frobnicate']), /unknown command 'frobnicate'/);
  usageError(t, await run(['fuzz', 'unsync', '--bogus']), /unknown option '--bogus'/);
  usageError(t, await run(['fuzz', 'unsync', '--strategy', 'dfs']), /'--strategy <name>' argument 'dfs' is invalid/);
  usageError(t, await run(['fuzz']), /missing required argument 'harness'/);
});

test('fuzz --json without a crash: JSON events, a final done, exit 0', async (t) => {
  const dir = tempDir(t);
  const corpus = join(dir, 'corpus', 'unsync');
  const crashes = join(dir, 'crashes');
  const r = await run(['fuzz', 'unsync', corpus, '--crashes', crashes, '--runs', '200', '--json']);
  t.deepEqual(r.err, []);
  t.is(r.code, 0);
  const ev = events(r.out);
  t.is(ev[0]!.event, 'start');
  t.like(ev[0], { harness: 'unsync', strategy: 'bytes', seed: 1, corpus: 0, off: [], variants: [] });
  const done = ev[ev.length - 1]!;
  t.is(done.event, 'done');
  t.is(ev.filter((e) => e.event === 'done').length, 1);
  t.is(done.execs, 200);
  t.is(typeof done.seconds, 'number');
  t.deepEqual(done.crashes, []);
  t.is(done.stopped, 'runs');
  // The kinds of schedules and their final shares: ten, summing to 1; nothing failed, so the prior (SCHEDULE_PRIOR, normalised).
  const schedules = done.schedules as { schedule: string; share: number }[];
  t.is(schedules.length, 10);
  const total = SCHEDULE_PRIOR.reduce((a, x) => a + x, 0);
  t.deepEqual(schedules[0], { schedule: 'preemptions', share: Math.round((SCHEDULE_PRIOR[0]! / total) * 1000) / 1000 });
  t.deepEqual(schedules[9], { schedule: 'PCT priorities (depth 3)', share: Math.round((SCHEDULE_PRIOR[9]! / total) * 1000) / 1000 });
  t.true(Math.abs(schedules.reduce((a, x) => a + x.share, 0) - 1) < 0.01);
  t.deepEqual(ev.filter((e) => e.event === 'crash'), []);
  // Kept inputs are in the corpus directory, as MMF files named by their sha1.
  const files = readdirSync(corpus);
  t.true(files.length > 0);
  t.is(files.length, ev.filter((e) => e.event === 'new').length);
  for (const f of files) t.notThrows(() => stripHeader(readFileSync(join(corpus, f))));
  t.deepEqual(readdirSync(join(crashes, 'unsync')), []);
});

test('fuzz --strategy random: the done event reports no schedule shares (nothing steers them)', async (t) => {
  const dir = tempDir(t);
  const r = await run(['fuzz', 'unsync', '--crashes', dir, '--runs', '30', '--strategy', 'random', '--json']);
  t.is(r.code, 0);
  const done = events(r.out).find((e) => e.event === 'done')!;
  t.deepEqual(done.schedules, []);
});

test('fuzz without --json: libFuzzer-shaped lines on stderr, a summary on stdout', async (t) => {
  const dir = tempDir(t);
  const r = await run(['fuzz', 'unsync', '--crashes', dir, '--runs', '50', '--seed', '3']);
  t.is(r.code, 0);
  t.deepEqual(r.out, ['no crashes found']);
  t.regex(r.err[0]!, /^INFO: fuzzing harness unsync \(strategy bytes, seed 3\); all switches on; 0 corpus inputs$/);
  t.true(r.err.some((l) => /^#\d+\tNEW \tcov: \d+ ft: \d+ corp: \d+\/\d+b exec\/s: \d+ crashes: 0$/.test(l)));
  t.regex(r.err[r.err.length - 2]!, /^Done 50 runs in [\d.]+ s \(runs\); corp: \d+, cov: \d+, ft: \d+$/);
  // Nothing failed: the three largest prior shares.
  t.is(r.err[r.err.length - 1]!, 'Schedules most used (steered by failures): random switches at 16/256 64%, random switches at 64/256 12%, preemptions 3%');
});

test('fuzz --json with a crash: crash event and file, exit 1; a rerun reports it as a duplicate', async (t) => {
  const dir = tempDir(t);
  const corpus = join(dir, 'corpus');
  const crashes = join(dir, 'crashes');
  const args = ['fuzz', 'unsync', corpus, '--off', 'tdp-unsync-lock', '--crashes', crashes, '--json'];
  const r = await run([...args, '--runs', '4000', '--stop-on-crash']);
  t.deepEqual(r.err, []);
  t.is(r.code, 1);
  const ev = events(r.out);
  t.like(ev[0], { event: 'start', off: ['tdp-unsync-lock'] });
  const crash = ev.filter((e) => e.event === 'crash');
  t.is(crash.length, 1);
  t.like(crash[0], { duplicate: false });
  const done = ev[ev.length - 1]!;
  t.like(done, { event: 'done', stopped: 'crash' });
  const found = done.crashes as { signature: string; file: string; execs_to_find: number; seconds_to_find: number }[];
  t.is(found.length, 1);
  t.is(found[0]!.signature, crash[0]!.signature as string);
  t.is(found[0]!.execs_to_find, done.execs as number);
  t.is(typeof found[0]!.seconds_to_find, 'number');
  t.true(found[0]!.file.startsWith(join(crashes, 'unsync')));
  t.true(existsSync(found[0]!.file) && existsSync(`${found[0]!.file}.json`) && existsSync(`${found[0]!.file}.trace.txt`));
  t.notThrows(() => stripHeader(readFileSync(found[0]!.file)));

  // Resume on the same directories: the corpus replays, the stored signature is a duplicate (still exit 1).
  const again = await run([...args, '--runs', '1']);
  t.is(again.code, 1);
  const ev2 = events(again.out);
  t.true((ev2[0]!.corpus as number) > 0);
  const dup = ev2.filter((e) => e.event === 'crash');
  t.true(dup.length >= 1);
  t.true(dup.every((e) => e.duplicate === true && e.file === null));
  t.true(dup.some((e) => e.signature === found[0]!.signature));
  t.deepEqual(ev2[ev2.length - 1]!.crashes, []);
  t.is(readdirSync(join(crashes, 'unsync')).length, 1, 'nothing stored twice');
});

test('fuzz --workers 2: two child processes, their events tagged, one merged done', async (t) => {
  const dir = tempDir(t);
  const corpus = join(dir, 'corpus');
  const crashes = join(dir, 'crashes');
  const r = await run(['fuzz', 'unsync', corpus, '--crashes', crashes, '--runs', '100', '--workers', '2', '--seed', '5', '--json']);
  t.deepEqual(r.err, []);
  t.is(r.code, 0);
  const ev = events(r.out);
  const starts = ev.filter((e) => e.event === 'start');
  t.deepEqual(starts.map((e) => [e.worker, e.seed]).sort(), [[0, 5], [1, 6]]);
  const dones = ev.filter((e) => e.event === 'done');
  t.is(dones.length, 1, 'the children\'s done events are merged into one');
  const done = ev[ev.length - 1]!;
  t.is(done.event, 'done');
  t.is(done.workers, 2);
  t.true((done.execs as number) >= 200, `execs ${String(done.execs)}`);
  t.is(typeof done.seconds, 'number');
  t.deepEqual(done.crashes, []);
  t.true(readdirSync(corpus).length > 0, 'the workers share the corpus directory');
});
