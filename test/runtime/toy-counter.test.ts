import test from 'ava';
import { Counter, counterInc, runToyCounter } from '../../harnesses/toy-counter';
import { Execution } from '../../src/runtime';
import { DfsSource, FuzzBytesSource, RandomWalkSource, ReplaySource, encodePreemptions, formatSchedule, parseSchedule } from '../../src/strategies';

test('the serial schedule keeps both increments', (t) => {
  const o = runToyCounter(new FuzzBytesSource());
  t.is(o.failure, null);
  t.is(o.steps, 4);
});

test('a preemption between load and store loses the update', (t) => {
  const o = runToyCounter(new FuzzBytesSource(encodePreemptions([{ step: 1, thread: 1 }])));
  t.truthy(o.failure);
  t.is(o.failure!.kind, 'INVARIANT');
  t.is(o.failure!.site, 'lost-update');
  t.regex(o.failure!.message, /counter is 1 after 2 increments/);
});

test('recorded decisions of a losing random execution replay to the identical trace', (t) => {
  const rw = new RandomWalkSource(7);
  for (let i = 0; i < 200; i++) {
    const o = runToyCounter(rw, { trace: true });
    if (o.failure === null) continue;
    const text = formatSchedule(o.decisions);
    const replayed = runToyCounter(new ReplaySource(parseSchedule(text)), { trace: true });
    t.deepEqual(replayed.trace, o.trace);
    t.deepEqual(replayed.failure, o.failure);
    t.deepEqual(replayed.decisions, o.decisions);
    return;
  }
  t.fail('random walk never lost the update in 200 executions');
});

test('exhaustive enumeration counts the schedules and finds the lost update', (t) => {
  const dfs = new DfsSource();
  let schedules = 0;
  let lost = 0;
  do {
    const o = runToyCounter(dfs);
    schedules++;
    if (o.failure !== null) lost++;
  } while (dfs.advance());
  // Two threads of two steps each: C(4,2) = 6 interleavings; all but the two serial ones lose an update.
  t.is(schedules, 6);
  t.is(lost, 4);
});

test('three incrementers: 90 schedules, serialisable ones are exactly the 6 orders', (t) => {
  const dfs = new DfsSource();
  let schedules = 0;
  let clean = 0;
  do {
    if (runToyCounter(dfs, {}, 3).failure === null) clean++;
    schedules++;
  } while (dfs.advance());
  t.is(schedules, 90); // 6! / (2! 2! 2!)
  t.is(clean, 6);
});

test('counterInc is usable on its own', (t) => {
  const ex = new Execution(new FuzzBytesSource());
  const c = new Counter(ex);
  ex.spawn('A', (th) => counterInc(th, c));
  const o = ex.run();
  t.is(o.failure, null);
  t.is(c.value, 1);
});
