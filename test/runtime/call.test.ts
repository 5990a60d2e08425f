import test from 'ava';
import { Execution, Lock, call, formatFailure, type ExecutionOptions, type Outcome, type SimThread, type Step } from '../../src/runtime';
import { FuzzBytesSource, RandomWalkSource, encodePreemptions } from '../../src/strategies';
import { Cell } from './helpers';

/**
 * The same program twice: model functions entered with `yield*` or with
 * `yield* call(...)`, nested three deep, with return values, a lock, a
 * function that returns before its first yield and one that never yields.
 */
function* bump(t: SimThread, c: Cell, by: number): Step<number> {
  yield 'bump:value.load';
  const v = t.load(c, 'value');
  yield 'bump:value.store';
  t.store(c, 'value', v + by);
  return v;
}

function* nothing(): Step<number> {
  return 7;
}

function* middle(t: SimThread, c: Cell, lock: Lock, useCall: boolean): Step<number> {
  yield* lock.lock(t, 'middle');
  const a = useCall ? yield* call(bump(t, c, 1)) : yield* bump(t, c, 1);
  const n = useCall ? yield* call(nothing()) : yield* nothing();
  yield* lock.unlock(t, 'middle');
  const b = useCall ? yield* call(bump(t, c, 10)) : yield* bump(t, c, 10);
  return a + b + n;
}

function run(useCall: boolean, schedule: Uint8Array, opts: Partial<ExecutionOptions> = {}, seed?: number): { o: Outcome; results: number[] } {
  const ex = new Execution(seed === undefined ? new FuzzBytesSource(schedule) : new RandomWalkSource(seed), { trace: true, ...opts });
  const c = new Cell(ex, 'c');
  const lock = new Lock(ex, 'lock', 'mutex');
  const results: number[] = [];
  for (const name of ['a', 'b']) {
    ex.spawn(name, function* (t): Step {
      // A call before the body's first yield runs at spawn time, up to the callee's first yield.
      const r1 = useCall ? yield* call(middle(t, c, lock, true)) : yield* middle(t, c, lock, false);
      const r2 = useCall ? yield* call(bump(t, c, 100)) : yield* bump(t, c, 100);
      results.push(r1, r2);
    });
  }
  return { o: ex.run(), results };
}

test('call() runs the same steps, labels and results as yield*', (t) => {
  const schedules = [new Uint8Array(0), encodePreemptions([{ step: 1, thread: 1 }, { step: 5, thread: 0 }]), encodePreemptions([{ step: 3, thread: 1 }])];
  for (const s of schedules) {
    const plain = run(false, s);
    const called = run(true, s);
    t.deepEqual(called.results, plain.results);
    t.is(called.o.steps, plain.o.steps);
    t.deepEqual(called.o.trace, plain.o.trace);
    t.deepEqual(called.o.decisions, plain.o.decisions);
  }
  for (let seed = 1; seed <= 20; seed++) {
    const plain = run(false, new Uint8Array(0), {}, seed);
    const called = run(true, new Uint8Array(0), {}, seed);
    t.deepEqual(called.results, plain.results, `seed ${seed}`);
    t.deepEqual(called.o.trace, plain.o.trace, `seed ${seed}`);
  }
});

test('the values call() returns reach the caller', (t) => {
  const { results } = run(true, new Uint8Array(0));
  // a runs first and alone: bump reads 0, nothing gives 7, bump reads 1; then bump reads 11.
  t.deepEqual(results.slice(0, 2), [0 + 1 + 7, 11]);
});

test('an oracle inside a called function ends the execution at its step', (t) => {
  function* freesThenLoads(th: SimThread, c: Cell): Step {
    yield 'f:free';
    th.free(c);
    yield* call(bump(th, c, 1));
  }
  const ex = new Execution(new FuzzBytesSource(), { trace: true });
  const c = new Cell(ex, 'c');
  ex.spawn('a', function* (th): Step {
    yield 'a:start';
    yield* call(freesThenLoads(th, c));
    yield 'a:never';
  });
  const o = ex.run();
  t.truthy(o.failure);
  t.is(o.failure!.kind, 'UAF');
  t.regex(formatFailure(o.failure!), /bump/);
  t.false(o.trace!.some((e) => e.label === 'a:never'));
});

test('a thread that ends inside nested calls is done, with its locks checked', (t) => {
  const ex = new Execution(new FuzzBytesSource(), { trace: true });
  const lock = new Lock(ex, 'lock', 'mutex');
  function* takes(th: SimThread): Step {
    yield* lock.lock(th, 'takes');
  }
  ex.spawn('a', function* (th): Step {
    yield* call(takes(th));
  });
  const o = ex.run();
  t.truthy(o.failure);
  t.is(o.failure!.kind, 'LOCKDEP');
  t.regex(o.failure!.detail, /lock held when thread exits/);
});
