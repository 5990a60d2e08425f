import test from 'ava';
import {
  DEFAULT_EXECUTION_OPTIONS, Execution, Lock, ModelError, Rcu, Refcount, RwLock, Srcu,
  formatFailure, labelAction, labelFunction, showValue, signatureSlug,
  type DecisionSource, type ExecutionOptions, type Outcome, type Step,
} from '../../src/runtime';
import { renderSwimlanes } from '../../src/report/swimlane';
import { DfsSource, FuzzBytesSource, PctSource, RandomWalkSource, ReplaySource, encodePreemptions } from '../../src/strategies';
import { Cell, preempt, runSolo, steps } from './helpers';

/** A small program touching every primitive, with a model choice and a race. */
function runMixed(src: DecisionSource, opts: Partial<ExecutionOptions> = {}): Outcome {
  const ex = new Execution(src, { trace: true, panicOnWarn: false, ...opts });
  const mmu = new RwLock(ex, 'mmu_lock');
  const pages = new Lock(ex, 'pages_lock', 'spinlock');
  const slots = new Lock(ex, 'slots_lock', 'mutex');
  const srcu = new Srcu(ex, 'kvm->srcu');
  const rcu = new Rcu(ex);
  const kvm = new Cell(ex, 'kvm', 'kvm');
  const users = new Refcount(kvm, 'users', 2);
  const sp = new Cell(ex, 'sp');
  for (const name of ['vcpu0', 'vcpu1']) {
    ex.spawn(name, function* (th): Step {
      const idx = yield* srcu.readLock(th, 'vcpu_run');
      yield* mmu.readLock(th, 'fault');
      yield 'fault:sp.value.load';
      const v = th.load(sp, 'value');
      yield 'fault:sp.value.store';
      th.store(sp, 'value', v + 1);
      if (th.choose(2, 'resched') === 1) yield* mmu.condReschedRead(th, 'fault');
      yield* pages.lock(th, 'fault');
      yield 'fault:rcu_read_lock';
      th.rcuReadLock();
      rcu.callRcu(th, `cb(${name})`, (a) => a.note('callback'));
      th.rcuReadUnlock();
      yield* pages.unlock(th, 'fault');
      yield* mmu.readUnlock(th, 'fault');
      yield* srcu.readUnlock(th, idx, 'vcpu_run');
      yield 'kvm_put_kvm:users.dec_and_test';
      if (users.decAndTest(th)) {
        yield 'kvm_destroy_vm:kvm.free';
        th.free(kvm);
      }
    });
  }
  ex.spawn('ioctl', function* (th): Step {
    yield* slots.lock(th, 'set_memslot');
    yield* srcu.synchronize(th, 'set_memslot');
    yield* mmu.writeLock(th, 'set_memslot');
    yield 'set_memslot:sp.value.store';
    th.store(sp, 'value', 100);
    yield* mmu.writeUnlock(th, 'set_memslot');
    yield* slots.unlock(th, 'set_memslot');
  });
  rcu.spawnActor();
  return ex.run();
}

test('determinism: the same source and program give the identical trace and outcome', (t) => {
  const bytes = encodePreemptions([{ step: 1, thread: 1 }, { step: 4, thread: 2 }, { step: 9, thread: 0 }]);
  const choices = Uint8Array.from([1, 0, 1]);
  const a = runMixed(new FuzzBytesSource(bytes, choices));
  t.true(a.trace!.length > 10);
  t.deepEqual(runMixed(new FuzzBytesSource(bytes, choices)), a);
  for (const make of [() => new RandomWalkSource(11), () => new PctSource(11, 3)]) {
    const s1 = make();
    const s2 = make();
    for (let i = 0; i < 20; i++) t.deepEqual(runMixed(s2), runMixed(s1));
  }
});

test('determinism: a recorded decision log replays to the identical trace', (t) => {
  const rw = new RandomWalkSource(3);
  for (let i = 0; i < 30; i++) {
    const o = runMixed(rw);
    const r = runMixed(new ReplaySource(o.decisions));
    t.deepEqual(r.trace, o.trace);
    t.deepEqual(r.failure, o.failure);
  }
});

test('determinism: DFS enumerates the same traces in the same order twice', (t) => {
  const enumerate = (): string[] => {
    const dfs = new DfsSource();
    const out: string[] = [];
    let n = 0;
    do {
      const ex = new Execution(dfs, { trace: true });
      const c = new Cell(ex, 'c');
      const l = new Lock(ex, 'l', 'spinlock');
      for (const name of ['A', 'B']) {
        ex.spawn(name, function* (th): Step {
          yield* l.lock(th, 'f');
          yield 'f:c.value.store';
          th.store(c, 'value', th.choose(2, 'v'));
          yield* l.unlock(th, 'f');
        });
      }
      out.push(JSON.stringify(ex.run().trace));
    } while (dfs.advance() && ++n < 1000);
    return out;
  };
  const a = enumerate();
  t.true(a.length > 2);
  t.deepEqual(enumerate(), a);
  t.is(new Set(a).size, a.length);
});

test('object ids and names are per execution, in creation order', (t) => {
  const names = (): string[] => {
    const ex = new Execution(preempt());
    return [new Cell(ex).name, new Cell(ex).name, new Cell(ex, 'named').name, new Cell(ex, undefined, 'sp').name];
  };
  t.deepEqual(names(), ['cell#1', 'cell#2', 'named', 'sp#4']);
  t.deepEqual(names(), ['cell#1', 'cell#2', 'named', 'sp#4']);
});

test('run() may be called once', (t) => {
  const ex = new Execution(preempt());
  ex.spawn('T', function* (): Step {
    yield 'f:x';
  });
  ex.run();
  t.throws(() => ex.run(), { message: 'Execution.run() called twice' });
});

test('spawn runs the body up to its first yield; ids follow spawn order', (t) => {
  const ex = new Execution(preempt(), { trace: true });
  const log: string[] = [];
  const a = ex.spawn('A', function* (): Step {
    log.push('A before first yield');
    yield 'a_fn:first';
    log.push('A step 0');
  });
  t.deepEqual(log, ['A before first yield']);
  t.is(a.label, 'a_fn:first');
  t.is(a.id, 0);
  const b = ex.spawn('B', function* (): Step {
    log.push('B runs at spawn and never yields');
  });
  t.true(b.done);
  t.is(b.id, 1);
  const o = ex.run();
  t.deepEqual(o.threads, ['A', 'B']);
  t.is(o.steps, 1);
  t.deepEqual(steps(o), ['A|a_fn:first']);
  t.true(a.done);
  t.is(a.steps, 1);
});

test('an execution with no thread is clean with no steps', (t) => {
  const o = new Execution(preempt(), { trace: true }).run();
  t.is(o.failure, null);
  t.is(o.steps, 0);
  t.deepEqual(o.trace, []);
  t.deepEqual(o.decisions, { schedule: [], choices: [] });
});

test('only real decisions are recorded: a single thread makes none', (t) => {
  const o = runSolo(() => function* (): Step {
    yield 'f:1';
    yield 'f:2';
  });
  t.deepEqual(o.decisions, { schedule: [], choices: [] });
  t.is(o.steps, 2);
});

test('a JavaScript exception in a thread is a ModelError, not a kernel failure', (t) => {
  const e = t.throws(() => runSolo(() => function* (): Step {
    yield 'f:ok';
    yield 'buggy_fn:oops';
    throw new TypeError('boom');
  }, {}, 'vcpu0'), { instanceOf: ModelError });
  t.regex(e!.message, /^model error in vcpu0 at step 1 \(buggy_fn:oops\): TypeError: boom/);
  const me = e as ModelError;
  t.is(me.step, 1);
  t.is(me.thread, 'vcpu0');
  t.true(me.cause0 instanceof TypeError);
});

class BadSource implements DecisionSource {
  readonly name = 'bad';
  asked = 0;
  constructor(private readonly pick: number, private readonly choice: number) {}
  beginExecution(): void {}
  nextThread(): number {
    return this.pick;
  }
  nextChoice(): number {
    this.asked++;
    return this.choice;
  }
}

test('a source that picks a non-runnable thread is a ModelError', (t) => {
  const ex = new Execution(new BadSource(5, 0));
  for (const n of ['A', 'B']) ex.spawn(n, function* (): Step {
    yield 'f:x';
  });
  t.throws(() => ex.run(), { instanceOf: ModelError, message: "decision source 'bad' picked thread 5, which is not runnable" });
});

test('a source that chooses out of range is a ModelError; n <= 1 never asks the source', (t) => {
  const src = new BadSource(0, 7);
  const ex = new Execution(src);
  const got: number[] = [];
  ex.spawn('T', function* (th): Step {
    yield 'f:choose';
    got.push(th.choose(1, 'one'), th.choose(0, 'none'));
    th.choose(3, 'three');
  });
  t.throws(() => ex.run(), { instanceOf: ModelError, message: /chose 7 outside \[0, 3\) for three/ });
  t.deepEqual(got, [0, 0]);
  t.is(src.asked, 1);
});

test('quiescence hooks run in order after every thread is done and RCU callbacks drained', (t) => {
  const ex = new Execution(preempt());
  const rcu = new Rcu(ex);
  const log: string[] = [];
  ex.spawn('T', function* (th): Step {
    yield 'f:call_rcu';
    rcu.callRcu(th, 'cb', () => log.push('callback'));
  });
  rcu.spawnActor();
  ex.onQuiescence('first', (e) => log.push(`first ${e.quiescent} ${e.running === null} ${rcu.pending}`));
  ex.onQuiescence('second', () => log.push('second'));
  const o = ex.run();
  t.is(o.failure, null);
  t.deepEqual(log, ['callback', 'first true true 0', 'second']);
});

test('quiescence hooks do not run after a failure', (t) => {
  const ex = new Execution(preempt());
  let ran = false;
  ex.spawn('T', function* (th): Step {
    yield 'f:x';
    th.bugOn(true, 'f', 'bug', 'm');
  });
  ex.onQuiescence('check', () => { ran = true; });
  t.is(ex.run().failure?.kind, 'BUG');
  t.false(ran);
});

test('daemons drain after the last non-daemon finishes; an always-runnable daemon hangs', (t) => {
  const ex = new Execution(preempt(), { trace: true });
  ex.spawn('main', function* (): Step {
    yield 'm:work';
  });
  ex.spawn('d', function* (): Step {
    for (let i = 0; i < 3; i++) yield 'd:work';
  }, { daemon: true });
  const o = ex.run();
  t.is(o.failure, null);
  t.deepEqual(steps(o), ['main|m:work', 'd|d:work', 'd|d:work', 'd|d:work']);

  const ex2 = new Execution(preempt(), { maxSteps: 30 });
  ex2.spawn('main', function* (): Step {
    yield 'm:work';
  });
  ex2.spawn('d', function* (): Step {
    for (;;) yield 'd:poll';
  }, { daemon: true });
  const o2 = ex2.run();
  t.is(o2.failure?.kind, 'HANG');
  t.is(o2.failure?.thread, 'd');
});

test('a failure during a step is at that step: failure.step = outcome.steps = last trace step', (t) => {
  const o = runSolo(() => function* (th): Step {
    yield 'f:1';
    yield 'f:2';
    th.deref(null, 'p');
  });
  t.is(o.failure?.step, 1);
  t.is(o.steps, 1);
  t.is(o.trace!.length, 2);
  t.is(o.trace![1]!.step, 1);
});

test('without trace: true the outcome has no trace, and the swimlane renderer refuses it', (t) => {
  const ex = new Execution(preempt());
  t.false(ex.tracing);
  ex.spawn('T', function* (th): Step {
    yield 'f:x';
    th.note('ignored');
  });
  const o = ex.run();
  t.is(o.trace, null);
  t.throws(() => renderSwimlanes(o), { message: /trace: true/ });
});

test('trace events carry the notes of the step and the locks held after it', (t) => {
  const o = runSolo((ex) => {
    const l = new Lock(ex, 'kvm->lock', 'spinlock');
    const c = new Cell(ex, 'c');
    return function* (th): Step {
      yield* l.lock(th, 'f');
      yield 'f:c.value.store';
      th.store(c, 'value', 5);
      th.note('hello');
      yield 'f:c.value.cmpxchg';
      th.cmpxchg(c, 'value', 4, 6);
      th.cmpxchg(c, 'value', 5, 7);
      yield* l.unlock(th, 'f');
    };
  });
  t.deepEqual(o.trace, [
    { step: 0, thread: 0, label: 'f:kvm->lock.lock', detail: '', locks: 'kvm->lock' },
    { step: 1, thread: 0, label: 'f:c.value.store', detail: 'c.value ← 5; hello', locks: 'kvm->lock' },
    { step: 2, thread: 0, label: 'f:c.value.cmpxchg', detail: 'c.value ≠ 5; c.value ⇐ 7', locks: 'kvm->lock' },
    { step: 3, thread: 0, label: 'f:kvm->lock.unlock', detail: '', locks: '' },
  ]);
});

test('default options', (t) => {
  t.deepEqual({ ...DEFAULT_EXECUTION_OPTIONS }, { maxSteps: 100_000, trace: false, features: null, panicOnWarn: true, fatalInvariants: true, conflictLog: false, atomicity: false });
  const ex = new Execution(preempt(), { maxSteps: 5 });
  t.is(ex.opts.maxSteps, 5);
  t.true(ex.opts.panicOnWarn);
});

test('helpers: labels, showValue, signature slugs, formatted failures', (t) => {
  t.is(labelFunction('mark_unsync:sp.unsync_children.load'), 'mark_unsync');
  t.is(labelAction('mark_unsync:sp.unsync_children.load'), 'sp.unsync_children.load');
  t.is(labelFunction('plain'), 'plain');
  t.is(labelAction('plain'), '');
  t.is(showValue(0x1fn), '0x1f');
  t.is(showValue(null), 'NULL');
  t.is(showValue({ name: 'sp#3' }), 'sp#3');
  t.is(showValue([1, 2, 3]), '[3]');
  t.is(showValue({ a: 1 }), '{…}');
  t.is(showValue(12), '12');
  t.is(showValue(undefined), 'undefined');
  t.is(signatureSlug('UAF mark_unsync: kvm_mmu_page freed by tdp_mmu_free_sp'), 'uaf-mark-unsync-kvm-mmu-page-freed-by-tdp-mmu-free-sp');
  t.true(signatureSlug('X'.repeat(200)).length <= 96);
  t.is(formatFailure({ kind: 'BUG', site: 's', detail: 'd', message: 'm', step: 3, thread: 'T' }), 'BUG s: d\n  m\n  (step 3, thread T)');
  t.is(formatFailure({ kind: 'INVARIANT', site: 's', detail: 'd', message: 'm', step: -1, thread: '' }), 'INVARIANT s: d\n  m\n  (at quiescence)');
});

test('memory operations: values, return values and trace notation', (t) => {
  const got: unknown[] = [];
  let cell: Cell | null = null;
  const o = runSolo((ex) => {
    const c = new Cell(ex, 'c');
    cell = c;
    return function* (th): Step {
      yield 'f:ops';
      th.store(c, 'value', 1);
      got.push(th.load(c, 'value'));
      th.storeAt(c, 'arr', 1, 7);
      got.push(th.loadAt(c, 'arr', 1));
      got.push(th.cmpxchg(c, 'value', 1, 2)); // swaps: returns 1
      got.push(th.cmpxchg(c, 'value', 1, 3)); // does not: returns 2
      got.push(th.cmpxchgAt(c, 'arr', 1, 7, 8)); // swaps: returns 7
      got.push(th.cmpxchgAt(c, 'arr', 1, 7, 9)); // does not: returns 8
      got.push(th.xchg(c, 'value', 10)); // returns 2
      got.push(th.xchgAt(c, 'arr', 0, 11)); // returns 0
      got.push(th.atomicAdd(c, 'value', 5)); // returns the new value, 15
      th.touch(c, 'list_del');
    };
  });
  t.is(o.failure, null);
  t.deepEqual(got, [1, 7, 1, 2, 7, 8, 2, 0, 15]);
  t.is(cell!.value, 15);
  t.deepEqual(cell!.arr, [11, 8, 0]);
  t.is(o.trace![0]!.detail, [
    'c.value ← 1', 'c.value → 1', 'c.arr[1] ← 7', 'c.arr[1] → 7',
    'c.value ⇐ 2', 'c.value ≠ 2', 'c.arr[1] ⇐ 8', 'c.arr[1] ≠ 8',
    'c.value ⇐ 10', 'c.arr[0] ⇐ 11', 'c.value ⇐ 15',
  ].join('; '));
});

test('holds() tells whether the thread holds a lock in any mode', (t) => {
  const seen: boolean[] = [];
  const o = runSolo((ex) => {
    const rw = new RwLock(ex, 'mmu_lock');
    const l = new Lock(ex, 'l', 'spinlock');
    return function* (th): Step {
      seen.push(th.holds(rw));
      yield* rw.readLock(th, 'f');
      seen.push(th.holds(rw), th.holds(l));
      yield* rw.readUnlock(th, 'f');
      seen.push(th.holds(rw));
    };
  });
  t.is(o.failure, null);
  t.deepEqual(seen, [false, true, false, false]);
});

test('a thread spawned during the execution runs; PCT gives it a priority above the initial threads', (t) => {
  const run = (src: DecisionSource): Outcome => {
    const ex = new Execution(src, { trace: true });
    ex.spawn('A', function* (): Step {
      yield 'a:spawn';
      ex.spawn('B', function* (): Step {
        yield 'b:1';
      });
      yield 'a:2';
    });
    return ex.run();
  };
  t.deepEqual(steps(run(preempt())), ['A|a:spawn', 'A|a:2', 'B|b:1']);
  for (let seed = 0; seed < 10; seed++) {
    const o = run(new PctSource(seed, 1));
    t.deepEqual(steps(o), ['A|a:spawn', 'B|b:1', 'A|a:2']);
    t.deepEqual(o.threads, ['A', 'B']);
  }
});

test('an oracle that fires before a body\'s first yield ends the execution at its start', (t) => {
  const ex = new Execution(preempt());
  ex.spawn('early', function* (th) {
    th.bugOn(true, 'early_fn', 'fired at spawn', 'before any yield');
    yield 'early:never';
  });
  ex.spawn('other', function* () {
    yield 'other:step';
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'BUG');
  t.is(o.failure?.site, 'early_fn');
  t.is(o.steps, 0);
});
