import test from 'ava';
import { Execution, Lock, Srcu, type DecisionSource, type Outcome, type Step } from '../../src/runtime';
import { exhaust, preempt, runSolo, stepOf, steps } from './helpers';

const LOCK = 'reader:kvm->srcu.srcu_read_lock';
const UNLOCK = 'reader:kvm->srcu.srcu_read_unlock';
const SYNC = 'sync_fn:synchronize_srcu_expedited(kvm->srcu)';

/**
 * S (thread 0): a step, then synchronize_srcu (called at the end of that step), then a step.
 * R (thread 1): an SRCU read section of three steps.
 */
function runSync(src: DecisionSource): Outcome {
  const ex = new Execution(src, { trace: true });
  const srcu = new Srcu(ex, 'kvm->srcu');
  ex.spawn('S', function* (th): Step {
    yield 'sync_fn:prepare';
    yield* srcu.synchronize(th, 'sync_fn');
    yield 'sync_fn:after';
  });
  ex.spawn('R', function* (th): Step {
    const idx = yield* srcu.readLock(th, 'reader');
    yield 'reader:cs';
    yield* srcu.readUnlock(th, idx, 'reader');
  });
  return ex.run();
}

test('over every schedule, synchronize_srcu waits for a section open at the call, and not for one begun after', (t) => {
  const outs = exhaust(runSync);
  let waitedForOld = 0;
  let overlappedNew = 0;
  for (const o of outs) {
    t.is(o.failure, null);
    const a = stepOf(o, 1, LOCK);
    const b = stepOf(o, 1, UNLOCK);
    const p = stepOf(o, 0, 'sync_fn:prepare');
    const q = stepOf(o, 0, SYNC);
    t.true(a >= 0 && b > a && p >= 0 && q > p);
    if (a < p && p < b) {
      // The reader was inside when synchronize was called (end of step p).
      t.true(q > b, `synchronize returned at ${q} while the old reader [${a}, ${b}] was inside`);
      waitedForOld++;
    }
    if (a > p && q < b) overlappedNew++;
  }
  t.true(waitedForOld > 0, 'no schedule had a reader open at the call');
  t.true(overlappedNew > 0, 'synchronize never returned while a newer reader was inside');
});

test('a reader that began before: synchronize returns only after its unlock', (t) => {
  // R locks at 0 (preempted to), S prepares at 1 and blocks; R finishes; then S returns.
  const o = runSync(preempt({ step: 0, thread: 1 }, { step: 1, thread: 0 }));
  t.is(o.failure, null);
  t.deepEqual(steps(o), [
    `R|${LOCK}`,
    'S|sync_fn:prepare',
    'R|reader:cs',
    `R|${UNLOCK}`,
    `S|${SYNC}`,
    'S|sync_fn:after',
  ]);
});

test('a reader that began after: synchronize returns while it is still inside', (t) => {
  // S prepares at 0 (synchronize is called at the end of that step); R locks at 1 and
  // runs its cs at 2; from step 3 the schedule wants S, and S is runnable.
  const o = runSync(preempt({ step: 1, thread: 1 }, { step: 3, thread: 0 }));
  t.is(o.failure, null);
  t.deepEqual(steps(o), [
    'S|sync_fn:prepare',
    `R|${LOCK}`,
    'R|reader:cs',
    `S|${SYNC}`,
    'S|sync_fn:after',
    `R|${UNLOCK}`,
  ]);
});

test('synchronize_srcu waits for every old reader and for none of the newer ones', (t) => {
  const ex = new Execution(preempt({ step: 1, thread: 1 }, { step: 2, thread: 2 }, { step: 3, thread: 0 }), { trace: true });
  const srcu = new Srcu(ex, 'kvm->srcu');
  const readers: number[] = [];
  ex.spawn('S', function* (th): Step {
    yield 'sync_fn:prepare';
    readers.push(srcu.readers);
    yield* srcu.synchronize(th, 'sync_fn');
    readers.push(srcu.readers);
  });
  for (const name of ['R1', 'R2']) {
    ex.spawn(name, function* (th): Step {
      const idx = yield* srcu.readLock(th, 'reader');
      yield 'reader:cs';
      yield* srcu.readUnlock(th, idx, 'reader');
    });
  }
  // S prepares at 0 (synchronize called at its end, no reader open), R1 and R2 lock at 1
  // and 2, S is picked at 3 and returns with both (newer) readers still inside.
  const o = ex.run();
  t.is(o.failure, null);
  t.deepEqual(readers, [0, 2]);
  t.is(stepOf(o, 0, SYNC), 3);

  // Both readers open before the call (they lock at 0 and 1, S prepares at 2): S returns last.
  const ex2 = new Execution(preempt({ step: 0, thread: 1 }, { step: 1, thread: 2 }, { step: 2, thread: 0 }), { trace: true });
  const srcu2 = new Srcu(ex2, 'kvm->srcu');
  ex2.spawn('S', function* (th): Step {
    yield 'sync_fn:prepare';
    yield* srcu2.synchronize(th, 'sync_fn');
  });
  for (const name of ['R1', 'R2']) {
    ex2.spawn(name, function* (th): Step {
      const idx = yield* srcu2.readLock(th, 'reader');
      yield 'reader:cs';
      yield* srcu2.readUnlock(th, idx, 'reader');
    });
  }
  const o2 = ex2.run();
  t.is(o2.failure, null);
  const q = stepOf(o2, 0, SYNC);
  t.true(q > stepOf(o2, 1, UNLOCK));
  t.true(q > stepOf(o2, 2, UNLOCK));
  t.is(q, o2.steps - 1);
});

test('synchronize_srcu with no reader does not block', (t) => {
  const o = runSolo((ex) => {
    const srcu = new Srcu(ex, 'kvm->srcu');
    return function* (th): Step {
      yield 'f:start';
      yield* srcu.synchronize(th, 'f', false);
    };
  });
  t.is(o.failure, null);
  t.deepEqual(steps(o), ['T0|f:start', 'T0|f:synchronize_srcu(kvm->srcu)']);
});

test('synchronize_srcu inside its own read section is LOCKDEP', (t) => {
  const o = runSolo((ex) => {
    const srcu = new Srcu(ex, 'kvm->srcu');
    return function* (th): Step {
      const idx = yield* srcu.readLock(th, 'kvm_set_memslot');
      yield* srcu.synchronize(th, 'kvm_set_memslot');
      yield* srcu.readUnlock(th, idx, 'kvm_set_memslot');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'kvm_set_memslot');
  t.is(o.failure?.detail, 'kvm->srcu synchronize inside its own read section');
});

test('synchronize_srcu inside a read section of another domain is fine', (t) => {
  const o = runSolo((ex) => {
    const a = new Srcu(ex, 'kvm->srcu');
    const b = new Srcu(ex, 'kvm->irq_srcu');
    return function* (th): Step {
      const idx = yield* a.readLock(th, 'f');
      yield* b.synchronize(th, 'f');
      yield* a.readUnlock(th, idx, 'f');
    };
  });
  t.is(o.failure, null);
});

test('synchronize_srcu under a spinlock is LOCKDEP sleeping in atomic context', (t) => {
  const o = runSolo((ex) => {
    const srcu = new Srcu(ex, 'kvm->srcu');
    const spin = new Lock(ex, 'mmu_lock', 'spinlock');
    return function* (th): Step {
      yield* spin.lock(th, 'f');
      yield* srcu.synchronize(th, 'f');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.detail, 'sleeping function called from invalid context');
  t.regex(o.failure!.message, /waiting for kvm->srcu/);
});

test('nested read sections of one domain are allowed; tokens are distinct and the trace shows (srcu)', (t) => {
  const tokens: number[] = [];
  const o = runSolo((ex) => {
    const srcu = new Srcu(ex, 'kvm->srcu');
    return function* (th): Step {
      const a = yield* srcu.readLock(th, 'f');
      const b = yield* srcu.readLock(th, 'f');
      tokens.push(a, b, srcu.readers);
      yield* srcu.readUnlock(th, b, 'f');
      yield* srcu.readUnlock(th, a, 'f');
      tokens.push(srcu.readers);
    };
  });
  t.is(o.failure, null);
  t.not(tokens[0], tokens[1]);
  t.is(tokens[2], 2);
  t.is(tokens[3], 0);
  t.deepEqual(o.trace!.map((e) => e.locks), ['kvm->srcu(srcu)', 'kvm->srcu(srcu) kvm->srcu(srcu)', 'kvm->srcu(srcu)', '']);
});

test('srcu_read_unlock with a token the thread does not hold is LOCKDEP', (t) => {
  const o = runSolo((ex) => {
    const srcu = new Srcu(ex, 'kvm->srcu');
    return function* (th): Step {
      const idx = yield* srcu.readLock(th, 'f');
      yield* srcu.readUnlock(th, idx + 100, 'g');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'g');
  t.is(o.failure?.detail, 'bad srcu_read_unlock on kvm->srcu');
});

test("srcu_read_unlock of another thread's token is LOCKDEP", (t) => {
  const ex = new Execution(preempt({ step: 1, thread: 1 }));
  const srcu = new Srcu(ex, 'kvm->srcu');
  let shared = -1;
  ex.spawn('A', function* (th): Step {
    shared = yield* srcu.readLock(th, 'a_fn');
    yield 'a_fn:cs';
    yield* srcu.readUnlock(th, shared, 'a_fn');
  });
  ex.spawn('B', function* (th): Step {
    yield 'b_fn:start';
    yield* srcu.readUnlock(th, shared, 'b_fn');
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.thread, 'B');
  t.is(o.failure?.detail, 'bad srcu_read_unlock on kvm->srcu');
});

test('a thread that exits inside an SRCU read section is LOCKDEP', (t) => {
  const o = runSolo((ex) => {
    const srcu = new Srcu(ex, 'kvm->srcu');
    return function* (th): Step {
      yield* srcu.readLock(th, 'vcpu_run');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'vcpu_run');
  t.is(o.failure?.detail, 'lock held when thread exits');
  t.regex(o.failure!.message, /kvm->srcu\(srcu\)/);
});

test('holding a mutex across synchronize_srcu while a reader takes it is a lockdep cycle, even serially', (t) => {
  // A: mutex_lock(M); synchronize_srcu(S)  => M -> S.
  // B: srcu_read_lock(S); mutex_lock(M)    => S -> M: cycle.
  const build = (src: DecisionSource): Outcome => {
    const ex = new Execution(src, { trace: true });
    const srcu = new Srcu(ex, 'kvm->srcu');
    const m = new Lock(ex, 'slots_lock', 'mutex');
    ex.spawn('A', function* (th): Step {
      yield* m.lock(th, 'kvm_swap_active_memslots');
      yield* srcu.synchronize(th, 'kvm_swap_active_memslots');
      yield* m.unlock(th, 'kvm_swap_active_memslots');
    });
    ex.spawn('B', function* (th): Step {
      const idx = yield* srcu.readLock(th, 'vcpu_enter');
      yield* m.lock(th, 'vcpu_enter');
      yield* m.unlock(th, 'vcpu_enter');
      yield* srcu.readUnlock(th, idx, 'vcpu_enter');
    });
    return ex.run();
  };
  const serial = build(preempt());
  t.is(serial.failure?.kind, 'LOCKDEP');
  t.is(serial.failure?.site, 'vcpu_enter');
  t.is(serial.failure?.detail, 'possible circular locking kvm->srcu -> slots_lock');
  // A finished before B started: no deadlock was needed to see it.
  t.is(stepOf(serial, 0, 'kvm_swap_active_memslots:slots_lock.unlock'), 2);
  const outs = exhaust(build);
  t.true(outs.every((o) => o.failure?.kind === 'LOCKDEP' && /possible circular locking/.test(o.failure.detail)));
});
