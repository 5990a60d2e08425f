/**
 * The `kinds` suite: every kind of new schedule and both baselines measured
 * on the same race, the prior's mix as the prior-weighted rate, and the
 * best kind; deterministic for the seeds.
 */
import test from 'ava';
import { RACES } from '../../bench/fuzz-bench';
import { kindRates, per100k } from '../../bench/kind-rates';
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
