/**
 * Set-up snapshots (KvmHarness.execute): on the harnesses with preludes,
 * an untraced execution starts from a copy of the state the preludes leave
 * instead of running them. It must be the same execution: for inputs from
 * fuzzing, under the bytes, random-walk and PCT sources, on both sides of
 * the switches, the copy and the full run give the same steps, decisions,
 * failure (signature, step, message), warnings and features.
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { HARNESSES } from '../../harnesses';
import type { KvmHarness } from '../../harnesses/kvm-harness';
import type { HarnessConfig } from '../../src/fuzz/harness';
import { Mutator } from '../../src/fuzz/mutate';
import { decode } from '../../src/fuzz/codec';
import { scenarioSource, type Scenario } from '../../src/fuzz/scenario';
import { type DecisionSource, FeatureMap, type Outcome, signatureOf } from '../../src/runtime';
import { PctSource, RandomWalkSource } from '../../src/strategies';
import { RANDOM_RATES } from '../../src/fuzz/mutate';

const WITH_PRELUDES = ['unsync', 'tdp-roots', 'mmu'];
const INPUTS = 150;

function key(o: Outcome): string {
  return JSON.stringify([o.steps, o.failure && signatureOf(o.failure), o.failure?.step, o.failure?.message, o.warnings.map(signatureOf), o.decisions, o.decisionSteps, o.threads]);
}

function features(m: FeatureMap): string {
  return Array.from(m.touched(), (i) => `${i}:${m.hits[i]}`).join(',');
}

/** The inputs of a test: generated at every kind of schedule, and mutated. */
function inputs(h: KvmHarness, seed: string): Scenario[] {
  const m = new Mutator(h, seedrandom.xor4096(seed));
  const out: Scenario[] = [];
  let last = m.generate({ lo: 0, hi: 300 }, { shape: 'preemptions' });
  for (let i = 0; i < INPUTS; i++) {
    const rate = RANDOM_RATES[i % RANDOM_RATES.length]!;
    const bytes = i % 3 === 2 ? m.mutate(last, null, { lo: 0, hi: 300 }).bytes : m.generate({ lo: 0, hi: 300 }, { shape: 'random-switches', rate });
    last = bytes;
    out.push(decode(h, bytes));
  }
  return out;
}

function compare(t: import('ava').ExecutionContext, h: KvmHarness, cfg: HarnessConfig, scenarios: Scenario[]): number {
  const fa = new FeatureMap();
  const fb = new FeatureMap();
  let failing = 0;
  scenarios.forEach((s, i) => {
    const make = (): DecisionSource => (i % 3 === 0 ? scenarioSource(s) : i % 3 === 1 ? new RandomWalkSource(i) : new PctSource(i, 3, 400));
    fa.clear();
    fb.clear();
    const copied = h.execute(s, cfg, make(), { features: fa });
    // A source that observes forced picks makes the harness run the preludes.
    const full = make();
    full.observeForced = (): void => undefined;
    const ran = h.execute(s, cfg, full, { features: fb });
    if (copied.failure !== null) failing++;
    // The copy starts at the step the preludes end at; the full run at 0.
    if (copied.startStep <= 0 || ran.startStep !== 0) t.fail(`${h.name} input ${i}: startStep ${copied.startStep} (copy) and ${ran.startStep} (full run)`);
    if (key(copied) !== key(ran) || features(fa) !== features(fb)) t.fail(`${h.name} input ${i}: ${key(copied).slice(0, 200)} vs ${key(ran).slice(0, 200)}`);
  });
  return failing;
}

for (const name of WITH_PRELUDES) {
  test(`${name}: executions from a copy of the set-up are the executions that run it`, (t) => {
    const h = HARNESSES.find((x) => x.name === name) as KvmHarness;
    const configs: [string[], string[]][] = [[[], []], [['tdp-unsync-lock', 'roots-off-list', 'slots-arch-lock'], []], [[], ['roots-off-list:no-restart']]];
    let failing = 0;
    for (const [off, variants] of configs) {
      const cfg = h.configure(off, variants);
      const before = h.fromSetup;
      failing += compare(t, h, cfg, inputs(h, `${name}:${off.join()}:${variants.join()}`));
      // Every input of these harnesses has preludes: the first of each pair ran from a copy.
      t.is(h.fromSetup - before, INPUTS, 'every untraced run without forced-pick observers starts from a copy');
    }
    t.log(`${name}: ${failing} failing executions among ${INPUTS * 3}`);
    t.pass();
  });
}

test('traced executions run the preludes (their steps are in the trace)', (t) => {
  const h = HARNESSES.find((x) => x.name === 'unsync') as KvmHarness;
  const cfg = h.configure([], []);
  const s = inputs(h, 'traced')[0]!;
  const before = h.fromSetup;
  const o = h.execute(s, cfg, scenarioSource(s), { trace: true });
  t.is(h.fromSetup, before);
  t.is(o.trace!.length, o.steps);
  t.true(o.trace!.some((e) => e.label === 'harness:prelude_turn'));
  const plain = h.execute(s, cfg, scenarioSource(s), {});
  t.is(h.fromSetup, before + 1);
  t.is(plain.steps, o.steps);
  // The copy starts where the preludes end: every prelude turn of the full run lies before its start step.
  t.is(o.startStep, 0);
  t.true(plain.startStep > 0 && plain.startStep < plain.steps);
  const turns = o.trace!.filter((e) => e.label === 'harness:prelude_turn').map((e) => e.step);
  t.true(turns.length > 0 && turns.every((k) => k < plain.startStep));
});
