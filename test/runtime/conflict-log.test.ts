import test from 'ava';
import { Execution, FeatureMap, MAX_LOGGED_CONFLICTS, type Step } from '../../src/runtime';
import { Cell, preempt, stepOf } from './helpers';

/** A stores c.value, then B loads it, then A stores it again (preempted to B after A's first store). */
function run(opts: { features: boolean; conflictLog: boolean; sameField?: boolean }) {
  const features = opts.features ? new FeatureMap() : null;
  const ex = new Execution(preempt({ step: 1, thread: 1 }), { features, conflictLog: opts.conflictLog, trace: true });
  const c = new Cell(ex, 'c');
  ex.spawn('A', function* (th): Step {
    yield 'a:c.value.store';
    th.store(c, 'value', 1);
    yield 'a:c.value.store2';
    th.store(c, 'value', 2);
  });
  ex.spawn('B', function* (th): Step {
    yield 'b:c.value.load';
    th.load(c, opts.sameField === false ? 'other' : 'value');
  });
  return ex.run();
}

test('the conflict log holds each cross-thread pair of accesses to one field with a write: steps and threads', (t) => {
  const o = run({ features: true, conflictLog: true });
  const aStore = stepOf(o, 0, 'a:c.value.store');
  const bLoad = stepOf(o, 1, 'b:c.value.load');
  const aStore2 = stepOf(o, 0, 'a:c.value.store2');
  t.true(aStore < bLoad && bLoad < aStore2, `A@${aStore} B@${bLoad} A@${aStore2}`);
  // Each access is logged at the step that ran it: A's store, then B's load; then B's load, then A's second store.
  t.deepEqual([...o.conflicts], [aStore, 0, bLoad, 1, bLoad, 1, aStore2, 0]);
});

test('no conflict log without the option, without features, or on disjoint fields', (t) => {
  t.deepEqual([...run({ features: true, conflictLog: false }).conflicts], []);
  t.deepEqual([...run({ features: false, conflictLog: true }).conflicts], []);
  t.deepEqual([...run({ features: true, conflictLog: true, sameField: false }).conflicts], []);
});

test('the log keeps the first MAX_LOGGED_CONFLICTS conflicts', (t) => {
  const ex = new Execution(preempt(), { features: new FeatureMap(), conflictLog: true });
  const c = new Cell(ex, 'c');
  // Two threads alternating stores (the walk switches at every decision): one conflict per store after the first.
  for (const name of ['A', 'B']) {
    ex.spawn(name, function* (th): Step {
      for (let i = 0; i < 2 * MAX_LOGGED_CONFLICTS; i++) {
        yield { label: `${name}:store`, waitsFor: 'nothing', ready: () => true, yielding: true };
        th.store(c, 'value', i);
      }
    });
  }
  const o = ex.run();
  t.is(o.conflicts.length, 4 * MAX_LOGGED_CONFLICTS);
  // Every step ended in a yield: each pick's previous thread carries the yield bit.
  t.true(o.decisionFrom.length > 0);
  for (const f of o.decisionFrom) t.true(f === -1 || f >= 0x100, `decisionFrom ${f}`);
  for (let i = 0; i < o.conflicts.length; i += 4) t.true(o.conflicts[i]! < o.conflicts[i + 2]! && o.conflicts[i + 1] !== o.conflicts[i + 3]);
});

test('decisionFrom gives the thread that ran the step before each pick (with the conflict log only)', (t) => {
  t.deepEqual([...run({ features: true, conflictLog: false }).decisionFrom], []);
  const o = run({ features: true, conflictLog: true });
  t.true(o.decisions.schedule.length > 0);
  t.is(o.decisionFrom.length, o.decisions.schedule.length);
  for (let i = 0; i < o.decisionSteps.length; i++) {
    const step = o.decisionSteps[i]!;
    const before = step === 0 ? -1 : o.trace![step - 1]!.thread;
    t.is(o.decisionFrom[i], before, `decision at step ${step}`);
  }
});
