/**
 * The `kinds` suite: every kind of new schedule and both baselines measured
 * on the same race, the prior's mix as the prior-weighted rate, and the
 * best kind; deterministic for the seeds.
 */
import test from 'ava';
import { RACES } from '../../bench/fuzz-bench';
import { type RaceKinds, kindRates, logOptimalPrior, per100k } from '../../bench/kind-rates';
import { SCHEDULE_PRIOR } from '../../src/fuzz/engine';

const race004 = RACES.find((r) => r.id === '004')!;

test('kinds: each schedule kind of the prior and both baselines, with the prior\'s mix and the best kind', (t) => {
  const lines: string[] = [];
  const [r] = kindRates([race004], 1, 300, (s) => lines.push(s));
  t.is(r!.race, '004');
  const kinds = r!.kinds;
  t.is(kinds.length, SCHEDULE_PRIOR.length + 2);
  t.deepEqual(kinds.slice(-2).map((k) => [k.kind, k.prior]), [['random walk (baseline)', null], ['PCT d=3 (baseline)', null]]);
  t.is(kinds[0]!.kind, 'preemptions');
  t.is(kinds[SCHEDULE_PRIOR.length - 1]!.kind, 'PCT priorities (depth 3)');
  const shares = kinds.filter((k) => k.prior !== null).map((k) => k.prior!);
  t.true(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const total = SCHEDULE_PRIOR.reduce((a, b) => a + b, 0);
  shares.forEach((s, i) => t.true(Math.abs(s - SCHEDULE_PRIOR[i]! / total) < 1e-12));
  for (const k of kinds) {
    t.is(k.execs, 300, k.kind);
    t.true(k.hits >= 0 && k.hits <= k.execs);
    t.true(k.stepsPerExec > 0);
  }
  // Seed 004's race is found within a few hundred executions: some kind hits it.
  t.true(kinds.some((k) => k.hits > 0));
  const mix = kinds.reduce((m, k) => m + (k.prior ?? 0) * per100k(k), 0);
  t.true(Math.abs(r!.mixPer100k - mix) < 1e-9);
  t.is(r!.best.per100k, Math.max(...kinds.map(per100k)));
  t.true(kinds.some((k) => k.kind === r!.best.kind && per100k(k) === r!.best.per100k));
  t.is(lines.length, kinds.length + 1);
  t.regex(lines[lines.length - 1]!, /the prior's mix: [\d.]+ per 100k; best: /);
  // The same seeds give the same counts.
  t.deepEqual(kindRates([race004], 1, 300, () => undefined), [r]);
});

test('per100k: hits per 100,000 executions, 0 for none run', (t) => {
  t.is(per100k({ hits: 3, execs: 1000 }), 300);
  t.is(per100k({ hits: 0, execs: 0 }), 0);
});

/** A race measured as `hits` per 100k for each kind (two baselines after them, which the prior ignores). */
function measured(race: string, hits: number[]): RaceKinds {
  const kinds = hits.map((h, i) => ({ kind: `k${i}`, prior: 1 / hits.length, execs: 100_000, hits: h, stepsPerExec: 100 }));
  const baselines = [{ kind: 'random walk (baseline)', prior: null, execs: 100_000, hits: 1000, stepsPerExec: 100 }, { kind: 'PCT d=3 (baseline)', prior: null, execs: 100_000, hits: 1000, stepsPerExec: 100 }];
  return { race, kinds: [...kinds, ...baselines], mixPer100k: 0, best: { kind: 'k0', per100k: 0 } };
}

test('logOptimalPrior: weights sum to 1, none under the floor; one kind best on every race takes all the rest', (t) => {
  const w = logOptimalPrior([measured('a', [10, 100, 10]), measured('b', [20, 200, 5])], 0.05);
  t.is(w.length, 3);
  t.true(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  t.true(w.every((x) => x >= 0.05 - 1e-12));
  t.true(Math.abs(w[1]! - 0.9) < 1e-6, JSON.stringify(w));
});

test('logOptimalPrior: two races each served by one kind split the weight evenly; a compromise kind good on both takes it', (t) => {
  const split = logOptimalPrior([measured('a', [100, 0, 0]), measured('b', [0, 100, 0])], 0.01);
  t.true(Math.abs(split[0]! - split[1]!) < 1e-3 && split[0]! > 0.45, JSON.stringify(split));
  // Kind 2 reaches 80% of each race's best: one kind at 0.8 beats half of each best (0.5).
  const compromise = logOptimalPrior([measured('a', [100, 0, 80]), measured('b', [0, 100, 80])], 0.01);
  t.true(compromise[2]! > 0.9, JSON.stringify(compromise));
});

test('logOptimalPrior: a race no kind hits in the sample still counts, through the half-hit smoothing', (t) => {
  const w = logOptimalPrior([measured('a', [100, 0]), measured('b', [0, 0])], 0.01);
  t.true(w.every((x) => Number.isFinite(x)));
  t.true(w[0]! > w[1]!);
});
