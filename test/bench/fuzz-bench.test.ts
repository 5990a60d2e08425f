/**
 * The fuzz benchmark's statistics and plan: medians and quartiles treat
 * "not found" as infinitely late, the seed plan, and bad arguments to
 * `npm run bench` (one line, exit 2). Speed itself is measured by the
 * benchmark, never asserted here.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEEP_TARGETS, type FuzzBenchResult, GIVE_UP_AFTER, RACES, benchSeeds, median, printFuzzBench, quartiles, raceTrials, selectRaces, steadyRate, trialInProcess } from '../../bench/fuzz-bench';
import { medianRatio } from '../../bench/median-ratio';
import { firstHitRate, firstHitsPerMegastep, hitRates } from '../../bench/hit-rate';
import { InputSampler, executionCost } from '../../bench/execution-cost';
import seedrandom from 'seedrandom';
import { findHarness } from '../../harnesses';
import { decode } from '../../src/fuzz/codec';
import { Mutator } from '../../src/fuzz/mutate';
import { scenarioSource } from '../../src/fuzz/scenario';

test('selectRaces: by seed number, in bench order; all without a list', (t) => {
  t.is(selectRaces(), RACES);
  t.deepEqual(selectRaces(['001', '000']).map((r) => r.id), ['000', '001']);
  t.deepEqual(selectRaces(['000-case2']).map((r) => r.target.source), ['^INVARIANT missed-sync: ']);
  t.deepEqual(selectRaces(['007']), []);
  // Deeper targets run only when named, after the seed races.
  t.false(selectRaces().some((r) => DEEP_TARGETS.includes(r)));
  t.deepEqual(selectRaces(['mmu-000', '004', 'apicv-bypass']).map((r) => r.id), ['004', 'apicv-bypass', 'mmu-000']);
  for (const d of DEEP_TARGETS) t.notThrows(() => findHarness(d.harness)!.configure(d.off, d.variants), d.id);
});

test('median: odd and even counts; not found counts as infinite', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([1, null, null]), null);
  t.is(median([1, 2, null]), 2);
  t.is(median([]), null);
});

test('quartiles: the 25th and 75th percentiles, null when not found', (t) => {
  t.deepEqual(quartiles([1, 2, 3, 4, 5, 6, 7, 8, 9]), [3, 7]);
  t.deepEqual(quartiles([5, 1]), [1, 5]);
  t.deepEqual(quartiles([1, null, null, null]), [null, null]);
  t.deepEqual(quartiles([1, 2, 3, null]), [2, 3]);
  t.deepEqual(quartiles([1, 2, null, null]), [2, null]);
  t.deepEqual(quartiles([]), [null, null]);
});

test('seed plan: at least 5 seeds per tool in a full run, 3 in a quick one; give-up comes after 5', (t) => {
  const full = benchSeeds(false);
  t.true(full.inProcess.length >= 5 && full.jsfuzz.length >= 5);
  t.is(full.cap, 60);
  t.deepEqual(benchSeeds(true).inProcess, [1, 2, 3]);
  // --seeds: more in-process seeds; jsfuzz and the cap stay.
  const more = benchSeeds(false, 101);
  t.is(more.inProcess.length, 101);
  t.deepEqual(more.jsfuzz, full.jsfuzz);
  t.is(more.cap, full.cap);
  // --first-seed: another sample of as many seeds (the in-process tools only).
  const second = benchSeeds(false, 101, 102);
  t.is(second.inProcess[0], 102);
  t.is(second.inProcess[100], 202);
  t.deepEqual(second.jsfuzz, full.jsfuzz);
  t.is(GIVE_UP_AFTER, 5);
  t.true(new Set(full.inProcess).size === full.inProcess.length, 'distinct seeds');
});

test('an in-process trial finds the seed 004 race and names its signature', (t) => {
  const race = RACES.find((r) => r.harness === 'memslot-rmaps')!;
  const trial = trialInProcess(race, 'mmufuzz', 1, 20);
  t.not(trial.signature, null);
  t.regex(trial.signature!, race.target);
  t.true(trial.execs! > 0);
  // Timed with a sub-millisecond clock: a time that is not a whole number of milliseconds.
  const again = [1, 2, 3, 4, 5].map((seed) => trialInProcess(race, 'mmufuzz', seed, 20).seconds!);
  t.true(again.some((x) => Math.abs(x * 1000 - Math.round(x * 1000)) > 1e-6), `times ${again.join(', ')}`);
});

test('the race table tells medians of a few milliseconds apart (four decimals below 0.1 s) and gives the ratio with its interval', (t) => {
  const race = RACES[0]!.label;
  const row = (tool: 'mmufuzz' | 'random', s: number, e: number) => ({
    race, tool, trials: [], median_seconds: s, median_execs: e, quartiles_execs: [e, e] as [number, number], found: 0,
  });
  // Eleven trials each, clearly apart: random's times are 1.1x mmufuzz's, seed by seed.
  const mine = Array.from({ length: 11 }, (_, i) => 0.00751 + i * 1e-6);
  const r: FuzzBenchResult = {
    seeds: { in_process: 0, jsfuzz: 0, cap_seconds: 60 }, races: [row('mmufuzz', 0.00751, 60), row('random', 0.00826, 87)],
    comparisons: [{ race, baseline: 'random', ...medianRatio(mine, mine.map((x) => x * 1.1)) }], throughput: [],
  };
  const lines: string[] = [];
  printFuzzBench(r, (l) => lines.push(l));
  const text = lines.join('\n');
  t.regex(text, /0\.0075s\/60/);
  t.regex(text, /0\.0083s\/87/);
  t.regex(text, /vs random: 1\.10x \(95% CI 1\.\d\dx–1\.\d\dx\): mmufuzz faster/);
  // A deep target is listed only when it was run, after the seed races; a slower mmufuzz says so.
  t.false(text.includes(DEEP_TARGETS[0]!.label));
  const deep = DEEP_TARGETS[0]!.label;
  r.races.push({ ...row('mmufuzz', 18.1, 208388), race: deep }, { ...row('random', 9.05, 10), race: deep });
  r.comparisons.push({ race: deep, baseline: 'random', ...medianRatio([18.1, 18.2, 18.3, 18.4, 18.5], [9.05, 9.1, 9.2, 9.3, 9.0]) });
  lines.length = 0;
  printFuzzBench(r, (l) => lines.push(l));
  const rows = lines.filter((l) => l.startsWith(deep) || l.startsWith(RACES[RACES.length - 1]!.label));
  t.deepEqual(rows.map((l) => l.slice(0, 20)), [RACES[RACES.length - 1]!.label.slice(0, 20), deep.slice(0, 20)]);
  t.regex(lines.join('\n'), /vs random: 0\.50x \(95% CI [\d.]+x–[\d.]+x\): mmufuzz slower/);
});

test('npm run bench rejects an unknown suite or tool, or bad numbers, with one line and exit 2', (t) => {
  const main = join(__dirname, '..', '..', 'bench', 'main.js');
  for (const args of [['nosuch'], ['races', '--tools', 'mmufuzz,afl'], ['--json'], ['hitrate', '--seeds', '0'], ['--nosuch'], ['sweep', '--minutes', '-1'], ['sweep', '--minutes', 'x'], ['sweep', '--jobs', '0'], ['races', '--races', '007']]) {
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, /^bench: /);
  }
});

test('hitRates counts every execution of every seed once (traced replays of new crashes excluded)', (t) => {
  const rows = hitRates(2, 60, ['mmufuzz', 'random'], () => undefined);
  t.is(rows.length, 2 * RACES.length);
  for (const r of rows) {
    t.is(r.execs, 120, `${r.race} ${r.tool}`);
    t.is(r.seeds, 2);
    t.true(r.hits >= 0 && r.hits <= r.execs);
    t.true(r.found <= r.seeds && r.found <= r.hits);
    // Executions to the first hit: at least one per seed that found it, at most every execution.
    t.true(r.execsToFirst >= r.found && r.execsToFirst <= r.execs);
    t.true(r.stepsToFirst >= r.execsToFirst && r.stepsToFirst <= r.steps, 'steps to the first hits are part of all steps');
    t.true(r.steps > r.execs);
  }
});

test('firstHitRate is seeds found over executions to the first hits', (t) => {
  const r = { race: 'x', tool: 'random' as const, found: 3, seeds: 4, execsToFirst: 600, stepsToFirst: 60_000, hits: 9, execs: 4000, steps: 1 };
  t.is(firstHitRate(r), 0.005);
  t.is(firstHitsPerMegastep(r), 50);
  t.is(firstHitRate({ ...r, found: 0, execsToFirst: 0 }), 0);
});

test('executionCost: replays sampled inputs; the steps run exclude a set-up snapshot\'s', (t) => {
  for (const [name, setup] of [['unsync', true], ['apicv', false]] as const) {
    const h = findHarness(name)!;
    const cfg = h.configure([], []);
    const sampler = new InputSampler(3, 10);
    const wrapped = sampler.wrap(h);
    const m = new Mutator(h, seedrandom.xor4096(name));
    const steps: number[] = [];
    for (let i = 0; i < 40; i++) {
      const s = decode(h, m.generate({ lo: 0, hi: 300 }, { shape: 'random-switches', rate: 8 }));
      const o = wrapped.execute(s, cfg, scenarioSource(s), {});
      if (i % 3 === 0) steps.push(o.steps);
    }
    // Every third input, at most ten: inputs 0, 3, …, 27.
    t.is(sampler.inputs.length, 10);
    const c = executionCost(h, cfg, sampler.inputs, 1);
    t.is(c.inputs, 10);
    const mean = steps.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
    t.true(Math.abs(c.steps_run + c.setup_steps - mean) < 1e-9, `${name}: ${c.steps_run} + ${c.setup_steps} vs ${mean}`);
    t.is(c.setup_steps > 0, setup, name);
    t.true(c.steps_run > 0 && c.model_only_us > 0 && c.with_feedback_us > 0);
  }
});

test('steadyRate: per worker from its first status at or after the mark to its last, summed; null without two', (t) => {
  const pts = [
    { worker: 0, seconds: 2, execs: 1000 }, { worker: 0, seconds: 6, execs: 20000 }, { worker: 0, seconds: 10, execs: 60000 },
    { worker: 1, seconds: 6.5, execs: 15000 }, { worker: 1, seconds: 8, execs: 30000 }, { worker: 1, seconds: 10.5, execs: 50000 },
  ];
  // Worker 0: (60000 - 20000) / 4 = 10000; worker 1: (50000 - 15000) / 4 = 8750.
  t.is(steadyRate(pts, 5), 18750);
  t.is(steadyRate(pts.filter((p) => p.worker === 0), 1), (60000 - 1000) / 8);
  t.is(steadyRate(pts, 9), null);
  t.is(steadyRate([], 0), null);
});

test('raceTrials interleaves the tools seed by seed, reversing the order each round; a tool that finds nothing stops after GIVE_UP_AFTER', async (t) => {
  const calls: string[] = [];
  const run = (tool: string, seed: number) => {
    calls.push(`${tool}${seed}`);
    const found = tool !== 'random';
    return { seed, seconds: found ? 0.01 : null, execs: found ? 10 : null, signature: found ? 'X' : null };
  };
  const out = await raceTrials(RACES[0]!, ['mmufuzz', 'random', 'pct', 'jsfuzz'], [1, 2, 3, 4, 5, 6, 7], [1, 2], 60, run);
  t.deepEqual(calls.slice(0, 8), ['mmufuzz1', 'random1', 'pct1', 'jsfuzz1', 'jsfuzz2', 'pct2', 'random2', 'mmufuzz2']);
  t.deepEqual(out.get('mmufuzz')!.map((x) => x.seed), [1, 2, 3, 4, 5, 6, 7]);
  t.is(out.get('random')!.length, GIVE_UP_AFTER, 'random found nothing: stopped');
  t.deepEqual(out.get('jsfuzz')!.map((x) => x.seed), [1, 2], 'jsfuzz runs its own, fewer seeds');
  t.false(calls.includes('random6'));
});
