/**
 * Conflict-directed schedules (DirectPlan, Mutator.direct, the `direct`
 * input kind): a plan's prefix replays its run's picks exactly, a directed
 * child replays the run up to the conflict and switches to the other
 * thread there, and the engine makes such children only when asked.
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { findHarness } from '../../harnesses';
import { decode, encode } from '../../src/fuzz/codec';
import { directPlanOf } from '../../src/fuzz/direct-plan';
import { SlotArena } from '../../src/fuzz/coverage';
import { DEFAULT_DIRECT_SHARE, INPUT_KINDS, INPUT_SHARES, Fuzzer, sharesWithDirect } from '../../src/fuzz/engine';
import { Mutator } from '../../src/fuzz/mutate';
import { scenarioSource } from '../../src/fuzz/scenario';
import { FeatureMap, type Outcome } from '../../src/runtime';
import { decodePreemptions, encodePreemptions } from '../../src/strategies';

const h = findHarness('memslot-rmaps')!;
const cfg = h.configure(['slots-arch-lock'], []);
const SPAN = { lo: 20, hi: 160 };

/** Generated inputs with frequent random switches, run with the conflict log; those whose run has a plan. */
function parents(n: number): { bytes: Uint8Array; o: Outcome }[] {
  const m = new Mutator(h, seedrandom.xor4096('direct-parents'));
  const out: { bytes: Uint8Array; o: Outcome }[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = m.generate(SPAN, { shape: 'random-switches', rate: 128 });
    const s = decode(h, bytes);
    const o = h.execute(s, cfg, scenarioSource(s), { features: new FeatureMap(), conflictLog: true });
    if (directPlanOf(o) !== null) out.push({ bytes, o });
  }
  return out;
}

const PARENTS = parents(150);

const picksBefore = (o: Outcome, cut: number): string =>
  o.decisionSteps.flatMap((st, i) => (st < cut ? [`${st}:${o.decisions.schedule[i]}`] : [])).join(' ');

test('most runs with competing threads log conflicts among them', (t) => {
  t.true(PARENTS.length > 50, `${PARENTS.length} of 150 runs have a plan`);
  for (const { o } of PARENTS) {
    const plan = directPlanOf(o)!;
    t.is(plan.conflicts.length % 4, 0);
    for (let i = 0; i < plan.conflicts.length; i += 4) {
      t.true(plan.conflicts[i + 2]! >= o.decisionSteps[0]!, 'a conflict ending before the first decision is dropped');
      t.not(plan.conflicts[i + 1], plan.conflicts[i + 3], 'two threads');
    }
  }
});

test('a plan\'s prefix, without random switches, replays every pick of its run', (t) => {
  for (const { bytes, o } of PARENTS) {
    const plan = directPlanOf(o)!;
    const pre = [];
    for (let i = 0; i < plan.prefix.length; i += 2) pre.push({ step: plan.prefix[i]!, thread: plan.prefix[i + 1]! });
    const s = { ...decode(h, bytes), walkRate: 0, walkSeed: 0, schedule: encodePreemptions(pre) };
    const r = h.execute(s, cfg, scenarioSource(s), {});
    t.deepEqual(r.decisions.schedule, o.decisions.schedule);
    t.deepEqual(r.decisionSteps, o.decisionSteps);
    t.is(r.steps, o.steps);
    // Only the picks a thread-keeping source would not make are recorded.
    t.true(plan.prefix.length / 2 <= o.decisions.schedule.length);
  }
});

test('a directed child keeps the programs, replays the run up to the conflict, then switches to the other thread', (t) => {
  const m = new Mutator(h, seedrandom.xor4096('direct-children'));
  let switched = 0;
  let children = 0;
  for (const { bytes, o } of PARENTS) {
    const plan = directPlanOf(o)!;
    for (let k = 0; k < 3; k++) {
      const c = m.direct(bytes, plan);
      const s0 = decode(h, bytes);
      const s = decode(h, c.bytes);
      t.is(s.config, s0.config);
      t.deepEqual(s.programs, s0.programs);
      t.deepEqual(s.choices, s0.choices);
      t.is(s.walkRate, 0);
      const m2 = /^direct\(thread (\d+) before thread (\d+)'s access at step (\d+)(, back at step (\d+))?\)$/.exec(c.how);
      t.truthy(m2, c.how);
      const [b, a, cut] = [Number(m2![1]), Number(m2![2]), Number(m2![3])];
      let found = false;
      for (let i = 0; i < plan.conflicts.length; i += 4) {
        if (plan.conflicts[i] === cut && plan.conflicts[i + 1] === a && plan.conflicts[i + 3] === b) found = true;
      }
      t.true(found, `${c.how} is one of the run's conflicts`);
      const pre = decodePreemptions(s.schedule);
      t.true(pre.some((p) => p.step === cut && p.thread === b));
      const r = h.execute(s, cfg, scenarioSource(s), {});
      t.is(picksBefore(r, cut), picksBefore(o, cut), 'the same picks before the conflict');
      children++;
      const j = r.decisionSteps.findIndex((st) => st >= cut);
      if (j >= 0 && r.decisions.schedule[j] === b) switched++;
    }
  }
  // The switch lands on B unless B cannot run at the next decision (blocked or done).
  t.true(switched > 0.6 * children, `${switched} of ${children} children switched to B at the conflict`);
});

test('directPlanOf: no plan without a decision or without a conflict', (t) => {
  const { o } = PARENTS[0]!;
  t.is(directPlanOf({ ...o, decisionSteps: [], decisions: { schedule: [], choices: [] }, decisionFrom: [] }), null);
  t.is(directPlanOf({ ...o, conflicts: [] }), null);
  // Conflicts that end before the first decision (the forced set-up) do not count.
  t.is(directPlanOf({ ...o, conflicts: [0, 0, o.decisionSteps[0]! - 1, 1] }), null);
});

test('sharesWithDirect: the share of directed inputs, the others scaled; the default share', (t) => {
  t.deepEqual(INPUT_SHARES, sharesWithDirect(DEFAULT_DIRECT_SHARE));
  t.true(DEFAULT_DIRECT_SHARE > 0 && DEFAULT_DIRECT_SHARE < 0.5);
  for (const d of [0, 0.15, 0.5, 1]) {
    const s = sharesWithDirect(d);
    t.is(Math.round(INPUT_KINDS.reduce((x, k) => x + s[k], 0) * 1e9), 1e9);
    t.is(s.direct, d);
    if (d < 1) t.is(Math.round((s.generate / s.reschedule) * 1e9), Math.round((sharesWithDirect(0).generate / sharesWithDirect(0).reschedule) * 1e9));
  }
  t.is(sharesWithDirect(-1).direct, 0);
  t.is(sharesWithDirect(3).direct, 1);
});

/** A run's directed children, counted through Mutator.direct. */
function directedIn(opts: ConstructorParameters<typeof Fuzzer>[2]): { directed: number; events: string } {
  let directed = 0;
  const orig = Mutator.prototype.direct;
  Mutator.prototype.direct = function (this: Mutator, ...args) {
    directed++;
    return orig.apply(this, args);
  };
  const events: string[] = [];
  try {
    new Fuzzer(h, cfg, { seed: 3, runs: 600, statusEvery: 1e9, syncEvery: 1e9, ...opts }, (e) => events.push(JSON.stringify({ ...e, seconds: 0 }))).run();
  } finally {
    Mutator.prototype.direct = orig;
  }
  return { directed, events: events.join('\n') };
}

test('the engine makes directed children at their share, none with share 0, reproducibly', (t) => {
  t.is(directedIn({ inputShares: sharesWithDirect(0) }).directed, 0);
  const byDefault = directedIn({}).directed;
  t.true(byDefault > 0.05 * 600 && byDefault < 0.25 * 600, `${byDefault} directed of 600 by default`);
  const some = directedIn({ inputShares: sharesWithDirect(0.3) });
  // About 30% of the executions after the first entries with a plan.
  t.true(some.directed > 0.15 * 600 && some.directed < 0.4 * 600, `${some.directed} directed of 600`);
  t.is(directedIn({ inputShares: sharesWithDirect(0.3) }).events, some.events);
  // The baselines never direct (no feedback, no plan).
  t.is(directedIn({ inputShares: sharesWithDirect(0.3), strategy: 'random', feedback: false }).directed, 0);
});

test('a directed child of a crash-free input encodes canonically', (t) => {
  const m = new Mutator(h, seedrandom.xor4096('canonical'));
  for (const { bytes, o } of PARENTS.slice(0, 20)) {
    const c = m.direct(bytes, directPlanOf(o)!);
    t.deepEqual(encode(h, decode(h, c.bytes)), c.bytes);
  }
});

test('a plan built into an arena is the run\'s plan on its own; a run without one has none either way', (t) => {
  const arena = new SlotArena(64);
  const plans = PARENTS.slice(0, 20).map(({ o }) => ({ o, inArena: directPlanOf(o, arena)! }));
  // Checked after all were built: a later plan in the same chunk does not overwrite an earlier one.
  for (const { o, inArena } of plans) {
    const alone = directPlanOf(o)!;
    t.deepEqual(Array.from(inArena.prefix), Array.from(alone.prefix));
    t.deepEqual(Array.from(inArena.conflicts), Array.from(alone.conflicts));
  }
  const serial = decode(h, new Uint8Array(0));
  const o = h.execute(serial, cfg, scenarioSource(serial), { features: new FeatureMap(), conflictLog: true });
  t.is(directPlanOf(o, arena), null);
  t.is(directPlanOf(o), null);
});
