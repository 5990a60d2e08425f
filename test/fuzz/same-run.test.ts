/**
 * runsAlike: when a child input is certain to run exactly as its parent
 * ran. Unit cases for each part of the scenario, then soundness on every
 * harness: whenever it says yes, executing the child repeats the parent's
 * execution (decisions, choices, steps, failure and features).
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { HARNESSES } from '../../harnesses';
import { decode } from '../../src/fuzz/codec';
import { Mutator, RANDOM_RATES } from '../../src/fuzz/mutate';
import type { Scenario } from '../../src/fuzz/scenario';
import { scenarioSource } from '../../src/fuzz/scenario';
import { UNKNOWN_USE, decisionUse, runsAlike } from '../../src/fuzz/same-run';
import type { ScheduleArm } from '../../src/fuzz/schedule-arms';
import { FeatureMap, type Outcome, signatureOf } from '../../src/runtime';
import type { Harness } from '../../src/fuzz/harness';
import { encodePreemptions } from '../../src/strategies';

const base: Scenario = {
  config: 1,
  walkSeed: 7,
  walkRate: 0,
  pct: false,
  programs: [[{ kind: 0, args: [1, 2] }], [{ kind: 1, args: [3] }]],
  schedule: encodePreemptions([{ step: 10, thread: 1 }, { step: 40, thread: 0 }]),
  choices: Uint8Array.of(5, 6, 7),
};
// The parent's run decided last at step 20 and asked two choices.
const use = { lastDecision: 20, choices: 2 };

test('runsAlike: what the run never read may change, what it read may not', (t) => {
  t.true(runsAlike(base, { ...base }, use));
  t.true(runsAlike(base, { ...base, choices: Uint8Array.of(5, 6, 99) }, use), 'a choice byte after the two asked');
  t.true(runsAlike(base, { ...base, choices: Uint8Array.of(5, 6) }, use), 'a choice byte never read, dropped');
  t.false(runsAlike(base, { ...base, choices: Uint8Array.of(5, 9, 7) }, use), 'a choice byte read');
  t.false(runsAlike(base, { ...base, choices: Uint8Array.of(5) }, use), 'a choice byte read, now missing (reads as 0)');
  t.true(runsAlike(base, { ...base, schedule: encodePreemptions([{ step: 10, thread: 1 }, { step: 55, thread: 2 }]) }, use), 'a record after the last decision');
  t.true(runsAlike(base, { ...base, schedule: encodePreemptions([{ step: 10, thread: 1 }]) }, use), 'a record after the last decision, dropped');
  t.false(runsAlike(base, { ...base, schedule: encodePreemptions([{ step: 10, thread: 2 }, { step: 40, thread: 0 }]) }, use), 'a record read, another thread');
  t.false(runsAlike(base, { ...base, schedule: encodePreemptions([{ step: 11, thread: 1 }, { step: 40, thread: 0 }]) }, use), 'a record read, another step');
  t.false(runsAlike(base, { ...base, schedule: encodePreemptions([{ step: 10, thread: 1 }, { step: 20, thread: 0 }]) }, use), 'a record at the last decision');
  t.false(runsAlike(base, { ...base, schedule: encodePreemptions([{ step: 40, thread: 0 }]) }, use), 'a record read, dropped');
  t.false(runsAlike(base, { ...base, config: 2 }, use));
  t.false(runsAlike(base, { ...base, programs: [[{ kind: 0, args: [1, 3] }], [{ kind: 1, args: [3] }]] }, use), 'an argument');
  t.false(runsAlike(base, { ...base, programs: [[{ kind: 0, args: [1, 2] }], [{ kind: 1, args: [3] }, { kind: 0, args: [] }]] }, use), 'an operation more');
  t.false(runsAlike(base, { ...base, programs: [[{ kind: 1, args: [1, 2] }], [{ kind: 1, args: [3] }]] }, use), 'an operation kind');
  t.true(runsAlike(base, { ...base, walkSeed: 8 }, use), 'the seed of random switches at rate 0');
  t.false(runsAlike(base, { ...base, walkRate: 16 }, use));
  t.false(runsAlike({ ...base, walkRate: 16 }, { ...base, walkRate: 16, walkSeed: 8 }, use), 'the seed of random switches at a rate');
  t.false(runsAlike(base, { ...base, pct: true }, use));
  t.false(runsAlike({ ...base, pct: true }, { ...base, pct: true, walkSeed: 8 }, use), 'the seed of PCT priorities');
  t.true(runsAlike({ ...base, pct: true }, { ...base, pct: true, walkRate: 99 }, use), 'the rate in PCT mode');
});

test('runsAlike: an unknown run reads every byte', (t) => {
  t.true(runsAlike(base, { ...base, choices: Uint8Array.of(5, 6, 7) }, UNKNOWN_USE));
  t.false(runsAlike(base, { ...base, choices: Uint8Array.of(5, 6, 99) }, UNKNOWN_USE));
  t.false(runsAlike(base, { ...base, choices: Uint8Array.of(5, 6) }, UNKNOWN_USE));
  t.false(runsAlike(base, { ...base, schedule: encodePreemptions([{ step: 10, thread: 1 }, { step: 1e6, thread: 0 }]) }, UNKNOWN_USE));
  t.deepEqual(decisionUse([], []), { lastDecision: -1, choices: 0 });
  t.deepEqual(decisionUse([3, 9, 14], [0, 1]), { lastDecision: 14, choices: 2 });
});

const SPAN = { lo: 0, hi: 300 };

/** Runs scenarios of `h` (every switch on) with features; each run's outcome and a key of all it did: steps, decisions, failure, features. */
function runner(h: Harness): (s: Scenario) => { o: Outcome; key: string } {
  const cfg = h.configure([], []);
  const fm = new FeatureMap();
  return (s) => {
    fm.clear();
    const o = h.execute(s, cfg, scenarioSource(s), { features: fm });
    const hits = [...fm.touched()].sort((a, b) => a - b).map((sl) => `${sl}:${fm.hits[sl]}`).join(',');
    return { o, key: JSON.stringify([o.steps, o.decisions, o.decisionSteps, o.failure === null ? null : signatureOf(o.failure), hits]) };
  };
}

for (const h of HARNESSES) {
  test(`${h.name}: a child runsAlike says runs as its parent does run exactly as it did`, (t) => {
    const m = new Mutator(h, seedrandom.xor4096(`same-run:${h.name}`));
    const run = runner(h);
    let alike = 0;
    let differ = 0;
    for (let i = 0; i < 60; i++) {
      const arm: ScheduleArm = i % 3 === 0 ? { shape: 'preemptions' } : i % 3 === 1 ? { shape: 'pct' } : { shape: 'random-switches', rate: RANDOM_RATES[i % RANDOM_RATES.length]! };
      const bytes = m.generate(SPAN, arm);
      const parent = decode(h, bytes);
      const p = run(parent);
      const u = decisionUse(p.o.decisionSteps, p.o.decisions.choices);
      for (let k = 0; k < 10; k++) {
        const child = decode(h, k % 3 === 2 ? m.reschedule(bytes, SPAN, arm).bytes : m.mutate(bytes, null, SPAN).bytes);
        if (!runsAlike(parent, child, u)) continue;
        alike++;
        if (run(child).key !== p.key) differ++;
      }
    }
    t.is(differ, 0, `${differ} of ${alike} children said alike ran otherwise`);
    // Not vacuous: mutations that touch only unread bytes are common.
    t.true(alike >= 30, `${alike} of 600 children alike`);
  });
}

for (const h of HARNESSES) {
  test(`${h.name}: programs whose run made no decision and asked no choice run the same under any schedule and choices (the engine's skipSerialRepeats)`, (t) => {
    const m = new Mutator(h, seedrandom.xor4096(`serial:${h.name}`));
    const run = runner(h);
    let serial = 0;
    let differ = 0;
    for (let i = 0; i < 300 && serial < 40; i++) {
      const bytes = m.generate(SPAN, { shape: 'preemptions' });
      const p = run(decode(h, bytes));
      if (p.o.decisionSteps.length > 0 || p.o.decisions.choices.length > 0) continue;
      serial++;
      for (let k = 0; k < 6; k++) {
        const arm: ScheduleArm = k % 3 === 0 ? { shape: 'pct' } : { shape: 'random-switches', rate: RANDOM_RATES[k % RANDOM_RATES.length]! };
        if (run(decode(h, m.reschedule(bytes, SPAN, arm).bytes)).key !== p.key) differ++;
      }
    }
    t.is(differ, 0, `${differ} of ${serial * 6} new schedules of serial runs ran otherwise`);
    // No generated input of unsync or tdp-roots ran without a decision or choice here (nor in the engine's runs measured in session 17).
    if (h.name === 'unsync' || h.name === 'tdp-roots') t.is(serial, 0, 'no serial runs: the engine never skips an input there');
    else t.true(serial >= 5, `${serial} serial runs among the generated inputs`);
  });
}
