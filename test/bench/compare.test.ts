/**
 * `npm run bench -- compare`: variants are parsed strictly (unknown options
 * and wrong types refused), trials are interleaved like the race table's,
 * and each variant is compared with the default engine.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { compareVariants, DEFAULT_VARIANT, parseVariant, type Variant } from '../../bench/compare';
import { selectRaces, type Trial } from '../../bench/fuzz-bench';
import { DEFAULT_FUZZ_OPTIONS, INPUT_SHARES } from '../../src/fuzz/engine';

test('parseVariant: engine options as JSON; partial input shares keep the other kinds\' defaults', (t) => {
  const v = parseVariant('{"adaptSchedules": false, "inputShares": {"direct": 0}, "extendTries": 2}');
  t.is(v.name, '{"adaptSchedules":false,"inputShares":{"direct":0},"extendTries":2}');
  t.false(v.opts.adaptSchedules);
  t.is(v.opts.extendTries, 2);
  t.deepEqual(v.opts.inputShares, { ...INPUT_SHARES, direct: 0 });
  const prior = DEFAULT_FUZZ_OPTIONS.schedulePrior.map((_, i) => (i === 0 ? 1 : 0));
  t.deepEqual(parseVariant(JSON.stringify({ schedulePrior: prior, strategy: 'pct', feedback: false })).opts, { schedulePrior: prior, strategy: 'pct', feedback: false });
  t.deepEqual(parseVariant('{}').opts, {});
  t.deepEqual(parseVariant('{"switchRarity": 0.25}').opts, { switchRarity: 0.25 });
  t.deepEqual(parseVariant('{"powerSchedule": "hybrid"}').opts, { powerSchedule: 'hybrid' });
});

test('parseVariant refuses what is not a variant, naming what is wrong', (t) => {
  const bad: [string, RegExp][] = [
    ['{adaptSchedules: false}', /not JSON/],
    ['[1]', /JSON object/],
    ['3', /JSON object/],
    ['{"seed": 3}', /unknown engine option 'seed'/],
    ['{"crashDir": "/tmp"}', /unknown engine option 'crashDir'/],
    ['{"adaptSchedules": 1}', /adaptSchedules: expected true or false/],
    ['{"extendShare": -0.5}', /extendShare: expected a number >= 0/],
    ['{"extendTries": "4"}', /extendTries: expected a number >= 0/],
    ['{"switchRarity": -1}', /switchRarity: expected a number >= 0/],
    ['{"inputShares": {"splice": 1}}', /unknown kind 'splice'/],
    ['{"inputShares": {"generate": 0, "mutate": 0, "reschedule": 0, "direct": 0}}', /every share is 0/],
    ['{"inputShares": 1}', /inputShares: expected an object/],
    ['{"schedulePrior": [1, 2]}', /schedulePrior: expected an array of \d+ weights/],
    ['{"strategy": "dfs"}', /strategy: expected one of bytes, random, pct/],
    ['{"powerSchedule": "fast"}', /powerSchedule: expected one of rarity, entropic, hybrid/],
  ];
  for (const [text, why] of bad) t.throws(() => parseVariant(text), { message: why }, text);
});

test('compareVariants: the default engine first, trials interleaved seed by seed, each variant compared with the default', async (t) => {
  const race = selectRaces(['004'])[0]!;
  const fast: Variant = { name: 'fast', opts: { extendTries: 1 } };
  const calls: string[] = [];
  const lines: string[] = [];
  const seeds = Array.from({ length: 41 }, (_, i) => i + 1);
  // The variant finds every race in a third of the default's time and executions.
  const run = (_r: unknown, v: Variant, seed: number): Trial => {
    calls.push(`${v.name}:${seed}`);
    const k = v === DEFAULT_VARIANT ? 3 : 1;
    return { seed, seconds: 0.01 * k * (1 + (seed % 7)), execs: 30 * k * (1 + (seed % 5)), signature: 'x' };
  };
  const r = await compareVariants([race], [fast], seeds, 60, (l) => lines.push(l), run);
  // One untimed warm-up per variant, then seed 1 default-first, seed 2 variant-first, ...
  t.deepEqual(calls.slice(0, 6), ['default:1000', 'fast:1000', 'default:1', 'fast:1', 'fast:2', 'default:2']);
  t.is(calls.length, 2 + 2 * seeds.length);
  t.deepEqual(r.variants.map((v) => v.name), ['default', 'fast']);
  t.deepEqual(r.races.map((x) => [x.variant, x.found, x.trials.length]), [['default', 41, 41], ['fast', 41, 41]]);
  t.is(r.comparisons.length, 1);
  const c = r.comparisons[0]!;
  t.is(c.variant, 'fast');
  t.is(c.seconds.ratio, 3);
  t.is(c.execs.ratio, 3);
  t.is(c.seconds.verdict, 'faster');
  t.regex(lines.join('\n'), /default median \/ variant 1's: time 3\.00x \(95% CI [\d.]+x–[\d.]+x\): variant faster; executions 3\.00x/);
});

test('compareVariants runs the real engine: a variant without conflict-directed schedules on seed 004\'s race', async (t) => {
  const race = selectRaces(['004'])[0]!;
  const r = await compareVariants([race], [parseVariant('{"inputShares": {"direct": 0}}')], [1, 2], 20, () => undefined);
  t.is(r.races.length, 2);
  for (const row of r.races) {
    t.is(row.found, 2, `${row.variant} finds seed 004's race on both seeds`);
    for (const trial of row.trials) t.regex(trial.signature!, race.target);
  }
  t.is(r.comparisons.length, 1);
});

test('npm run bench compare: no variant, or a bad one, is one line and exit 2', (t) => {
  const main = join(__dirname, '..', '..', 'bench', 'main.js');
  for (const args of [['compare'], ['compare', '--variant', '{"seed": 1}'], ['compare', '--variant', 'nope']]) {
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, /^bench: /);
  }
});
