import test from 'ava';
import { Execution, KObject, Lock, RwLock, type DecisionSource, type Outcome, type Step } from '../../src/runtime';
import { FuzzBytesSource, ReplayDivergence, ReplaySource } from '../../src/strategies';
import { ProbeSource, exhaust, preempt, runSolo, stepOf, steps } from './helpers';

/** Who is inside the critical section right now (updated in the acquiring / releasing step). */
class Occupancy extends KObject {
  readers = 0;
  writers = 0;
  constructor(ex: Execution) {
    super(ex, 'occ', 'occ');
  }
}

type Role = 'R' | 'W';

interface RolesRun {
  o: Outcome;
  maxReaders: number;
}

/**
 * One thread per role; each takes mmu_lock in its mode, runs one step inside,
 * and releases it. Every acquisition and the inner step check, with an
 * INVARIANT, that the lock's contract holds; max concurrent readers is recorded.
 */
function runRoles(src: DecisionSource, roles: readonly Role[]): RolesRun {
  const ex = new Execution(src, { trace: true });
  const rw = new RwLock(ex, 'mmu_lock');
  const occ = new Occupancy(ex);
  let maxReaders = 0;
  roles.forEach((role, i) => {
    ex.spawn(`${role}${i}`, function* (th): Step {
      if (role === 'W') {
        yield* rw.writeLock(th, 'writer');
        const w = th.atomicAdd(occ, 'writers', 1);
        const r = th.load(occ, 'readers');
        th.invariant(w === 1 && r === 0, 'rwlock-exclusion', 'writer enters while the lock is held',
          () => `${th.name}: writers=${w} readers=${r}`);
        yield 'writer:critical';
        th.invariant(th.load(occ, 'writers') === 1 && th.load(occ, 'readers') === 0, 'rwlock-exclusion',
          'writer shares the lock', () => `${th.name}: writers=${occ.writers} readers=${occ.readers}`);
        yield* rw.writeUnlock(th, 'writer');
        th.atomicAdd(occ, 'writers', -1);
      } else {
        yield* rw.readLock(th, 'reader');
        const r = th.atomicAdd(occ, 'readers', 1);
        maxReaders = Math.max(maxReaders, r);
        const w = th.load(occ, 'writers');
        th.invariant(w === 0, 'rwlock-exclusion', 'reader enters while a writer holds the lock',
          () => `${th.name}: writers=${w}`);
        yield 'reader:critical';
        th.invariant(th.load(occ, 'writers') === 0, 'rwlock-exclusion', 'reader shares the lock with a writer',
          () => `${th.name}: writers=${occ.writers}`);
        yield* rw.readUnlock(th, 'reader');
        th.atomicAdd(occ, 'readers', -1);
      }
    });
  });
  return { o: ex.run(), maxReaders };
}

test('two readers hold the lock at once', (t) => {
  // R0 takes the read lock at step 0; from step 1 on R1 runs and also gets it.
  const { o, maxReaders } = runRoles(preempt({ step: 1, thread: 1 }), ['R', 'R']);
  t.is(o.failure, null);
  t.is(maxReaders, 2);
  t.deepEqual(steps(o).slice(0, 2), ['R0|reader:mmu_lock.read_lock', 'R1|reader:mmu_lock.read_lock']);
  t.is(o.trace![1]!.locks, 'mmu_lock(R)');
});

test('over every schedule, a writer never overlaps another holder (W, W, R)', (t) => {
  const outs = exhaust((src) => runRoles(src, ['W', 'W', 'R']).o);
  t.true(outs.length >= 6, `only ${outs.length} schedules`);
  for (const o of outs) {
    if (o.failure !== null) {
      t.fail(`schedule ${o.decisions.schedule.join('.')}: ${o.failure.message}`);
      return;
    }
  }
  // Each thread ran all of its three steps in every schedule (nobody starved at the end).
  t.true(outs.every((o) => o.steps === 9));
});

test('over every schedule, readers share but a writer excludes them (W, R, R)', (t) => {
  let sawSharedRead = 0;
  const dfsRuns = exhaust((src) => {
    const r = runRoles(src, ['W', 'R', 'R']);
    if (r.maxReaders === 2) sawSharedRead++;
    return r.o;
  });
  t.deepEqual(dfsRuns.filter((o) => o.failure !== null).map((o) => o.failure!.message), []);
  // The instrument can see overlap: some schedules have both readers inside together.
  t.true(sawSharedRead > 0);
  // ...and some do not (the writer sits between them).
  t.true(sawSharedRead < dfsRuns.length);
});

/** W writes under the lock, R reads under it, X runs free steps (so the scheduler has real choices). */
function runBlocking(src: DecisionSource, check: (ex: Execution, rw: RwLock, runnable: number[]) => void): Outcome {
  const ex: Execution = new Execution(new ProbeSource(src, (runnable) => check(ex, rw, runnable)), { trace: true });
  const rw = new RwLock(ex, 'mmu_lock');
  ex.spawn('W', function* (th): Step {
    yield* rw.writeLock(th, 'writer');
    yield 'writer:critical';
    yield* rw.writeUnlock(th, 'writer');
  });
  ex.spawn('R', function* (th): Step {
    yield* rw.readLock(th, 'reader');
    yield* rw.readUnlock(th, 'reader');
  });
  ex.spawn('X', function* (): Step {
    for (let i = 0; i < 3; i++) yield 'other:work';
  });
  return ex.run();
}

test('a reader waiting for a writer is not runnable, and runs once the writer releases', (t) => {
  let blockedSeen = 0;
  const violations: string[] = [];
  const outs = exhaust((src) => runBlocking(src, (ex, rw, runnable) => {
    const r = ex.threads[1]!;
    if (r.done || r.label !== 'reader:mmu_lock.read_lock') return;
    const canRun = runnable.includes(1);
    if (rw.writer !== null && canRun) violations.push(`step ${ex.step}: reader runnable while W writes`);
    if (rw.writer === null && !canRun) violations.push(`step ${ex.step}: reader not runnable with the lock free`);
    if (rw.writer !== null) blockedSeen++;
  }));
  t.deepEqual(violations, []);
  t.true(blockedSeen > 0, 'no schedule ever had the reader waiting');
  for (const o of outs) {
    t.is(o.failure, null);
    const rl = stepOf(o, 1, 'reader:mmu_lock.read_lock');
    const wl = stepOf(o, 0, 'writer:mmu_lock.write_lock');
    const wu = stepOf(o, 0, 'writer:mmu_lock.write_unlock');
    // The reader always gets the lock (it wakes), and never inside [write_lock, write_unlock].
    t.true(rl >= 0 && wl >= 0 && wu >= 0);
    t.true(rl < wl || rl > wu, `reader got the lock at ${rl} inside the write section [${wl}, ${wu}]`);
  }
});

test('a blocked reader runs right after the write_unlock when the schedule prefers it', (t) => {
  // W takes the lock at 0. The schedule wants R from step 1 on, but R is blocked, so the
  // next steps are forced (no decision); the first real decision comes right after
  // W's write_unlock, with R runnable again, and R is picked before W's next step.
  const ex = new Execution(preempt({ step: 1, thread: 1 }), { trace: true });
  const rw = new RwLock(ex, 'mmu_lock');
  ex.spawn('W', function* (th): Step {
    yield* rw.writeLock(th, 'writer');
    yield 'writer:critical';
    yield* rw.writeUnlock(th, 'writer');
    yield 'writer:after';
  });
  ex.spawn('R', function* (th): Step {
    yield* rw.readLock(th, 'reader');
    yield* rw.readUnlock(th, 'reader');
  });
  const o = ex.run();
  t.is(o.failure, null);
  t.deepEqual(steps(o), [
    'W|writer:mmu_lock.write_lock',
    'W|writer:critical',
    'W|writer:mmu_lock.write_unlock',
    'R|reader:mmu_lock.read_lock',
    'R|reader:mmu_lock.read_unlock',
    'W|writer:after',
  ]);
  // Real decisions: step 0 (both could take the free lock), steps 3 and 4 (R woken, W runnable).
  t.deepEqual(o.decisions.schedule, [0, 1, 1]);
});

test('ReplaySource cannot pick a reader while a writer holds the lock (it is not runnable)', (t) => {
  // Step 0: W takes the write lock. Step 1: runnable are W and X only.
  t.throws(() => runBlocking(new ReplaySource({ schedule: [0, 1], choices: [] }), () => {}), {
    instanceOf: ReplayDivergence,
    message: /thread 1\) is not runnable at step 1; runnable: 0,2/,
  });
});

/** R reads under the lock for two steps, W wants it for write; X (optional) runs free steps. */
function runReaderFirst(src: DecisionSource, withX: boolean): Outcome {
  const ex = new Execution(src, { trace: true });
  const rw = new RwLock(ex, 'mmu_lock');
  ex.spawn('R', function* (th): Step {
    yield* rw.readLock(th, 'reader');
    yield 'reader:critical';
    yield* rw.readUnlock(th, 'reader');
  });
  ex.spawn('W', function* (th): Step {
    yield* rw.writeLock(th, 'writer');
    yield* rw.writeUnlock(th, 'writer');
  });
  if (withX) {
    ex.spawn('X', function* (): Step {
      yield 'other:work';
      yield 'other:work';
    });
  }
  return ex.run();
}

test('a writer is not runnable while a reader holds the lock', (t) => {
  // R takes the read lock at 0; a log naming W at step 1 is impossible.
  t.throws(() => runReaderFirst(new ReplaySource({ schedule: [0, 1], choices: [] }), true), {
    instanceOf: ReplayDivergence,
    message: /thread 1\) is not runnable at step 1; runnable: 0,2/,
  });
  // With only R and W, the steps while R holds the lock are forced: W gets it only after read_unlock.
  const o = runReaderFirst(preempt({ step: 1, thread: 1 }), false);
  t.is(o.failure, null);
  t.deepEqual(steps(o), [
    'R|reader:mmu_lock.read_lock',
    'R|reader:critical',
    'R|reader:mmu_lock.read_unlock',
    'W|writer:mmu_lock.write_lock',
    'W|writer:mmu_lock.write_unlock',
  ]);
  // Only the first pick (both runnable) was a real decision.
  t.deepEqual(o.decisions.schedule, [0]);
});

/** A holds mmu_lock in `mode` and calls cond_resched on it; B wants it for write. */
function runCondResched(src: DecisionSource, mode: 'read' | 'write'): Outcome {
  const ex = new Execution(src, { trace: true });
  const rw = new RwLock(ex, 'mmu_lock');
  ex.spawn('A', function* (th): Step {
    if (mode === 'write') yield* rw.writeLock(th, 'zap');
    else yield* rw.readLock(th, 'zap');
    yield 'zap:work';
    if (mode === 'write') yield* rw.condReschedWrite(th, 'zap');
    else yield* rw.condReschedRead(th, 'zap');
    th.assertHeld(rw, mode);
    yield 'zap:more_work';
    if (mode === 'write') yield* rw.writeUnlock(th, 'zap');
    else yield* rw.readUnlock(th, 'zap');
  });
  ex.spawn('B', function* (th): Step {
    yield* rw.writeLock(th, 'other');
    yield 'other:work';
    yield* rw.writeUnlock(th, 'other');
  });
  return ex.run();
}

for (const mode of ['write', 'read'] as const) {
  test(`condResched${mode === 'write' ? 'Write' : 'Read'} releases the lock so a writer can get in, then re-acquires it`, (t) => {
    // A: lock (0), work (1), cond_resched unlock (2); from step 3 the schedule wants B.
    const o = runCondResched(preempt({ step: 3, thread: 1 }), mode);
    t.is(o.failure, null);
    t.deepEqual(steps(o), [
      `A|zap:mmu_lock.${mode}_lock`,
      'A|zap:work',
      `A|zap:mmu_lock.${mode}_unlock`,
      'B|other:mmu_lock.write_lock',
      'B|other:work',
      'B|other:mmu_lock.write_unlock',
      `A|zap:mmu_lock.${mode}_lock`,
      'A|zap:more_work',
      `A|zap:mmu_lock.${mode}_unlock`,
    ]);
  });

  test(`condResched${mode === 'write' ? 'Write' : 'Read'}: over every schedule B only ever holds the lock while A does not`, (t) => {
    const outs = exhaust((src) => runCondResched(src, mode));
    let between = 0;
    for (const o of outs) {
      t.is(o.failure, null);
      const a1 = stepOf(o, 0, `zap:mmu_lock.${mode}_lock`, 0);
      const u1 = stepOf(o, 0, `zap:mmu_lock.${mode}_unlock`, 0);
      const a2 = stepOf(o, 0, `zap:mmu_lock.${mode}_lock`, 1);
      const u2 = stepOf(o, 0, `zap:mmu_lock.${mode}_unlock`, 1);
      const b1 = stepOf(o, 1, 'other:mmu_lock.write_lock');
      const b2 = stepOf(o, 1, 'other:mmu_lock.write_unlock');
      const overlaps = (x1: number, x2: number): boolean => !(b2 < x1 || b1 > x2);
      t.false(overlaps(a1, u1) || overlaps(a2, u2), `B's section [${b1}, ${b2}] overlaps A's`);
      if (b1 > u1 && b2 < a2) between++;
    }
    t.true(between > 0, 'B never got in during the cond_resched window');
  });
}

test('read_unlock without holding the lock is a LOCKDEP bad unlock', (t) => {
  const o = runSolo((ex) => {
    const rw = new RwLock(ex, 'mmu_lock');
    return function* (th): Step {
      yield* rw.readUnlock(th, 'kvm_zap');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'kvm_zap');
  t.is(o.failure?.detail, 'bad unlock balance on mmu_lock');
  t.is(o.failure?.step, 0);
});

test('write_unlock while holding only the read lock is a LOCKDEP bad unlock', (t) => {
  const o = runSolo((ex) => {
    const rw = new RwLock(ex, 'mmu_lock');
    return function* (th): Step {
      yield* rw.readLock(th, 'kvm_zap');
      yield* rw.writeUnlock(th, 'kvm_zap');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.detail, 'bad unlock balance on mmu_lock');
  t.regex(o.failure!.message, /\(write\)/);
});

test('write_unlock by a thread other than the writer is a LOCKDEP bad unlock', (t) => {
  // A takes the lock at 0; B runs from step 1 and "releases" it at step 2.
  const ex = new Execution(preempt({ step: 1, thread: 1 }));
  const rw = new RwLock(ex, 'mmu_lock');
  ex.spawn('A', function* (th): Step {
    yield* rw.writeLock(th, 'a_fn');
    yield 'a_fn:work';
    yield* rw.writeUnlock(th, 'a_fn');
  });
  ex.spawn('B', function* (th): Step {
    yield 'b_fn:start';
    yield* rw.writeUnlock(th, 'b_fn');
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'b_fn');
  t.is(o.failure?.thread, 'B');
  t.is(o.failure?.step, 2);
  t.is(o.failure?.detail, 'bad unlock balance on mmu_lock');
  // The lock still belongs to A.
  t.is(rw.writer?.name, 'A');
});

test('recursive read_lock of an rwlock is allowed; of an rwsem it is LOCKDEP recursive locking', (t) => {
  for (const kind of ['rwlock', 'rwsem'] as const) {
    let readers = -1;
    const o = runSolo((ex) => {
      const rw = new RwLock(ex, 'l', kind);
      return function* (th): Step {
        yield* rw.readLock(th, 'f');
        yield* rw.readLock(th, 'f');
        readers = rw.readers;
        yield* rw.readUnlock(th, 'f');
        yield* rw.readUnlock(th, 'f');
      };
    });
    if (kind === 'rwlock') {
      t.is(o.failure, null);
      t.is(readers, 2);
    } else {
      t.is(o.failure?.kind, 'LOCKDEP');
      t.is(o.failure?.detail, 'recursive locking of l');
    }
  }
});

test('write_lock while holding the read lock (upgrade) is LOCKDEP recursive locking', (t) => {
  const o = runSolo((ex) => {
    const rw = new RwLock(ex, 'mmu_lock');
    return function* (th): Step {
      yield* rw.readLock(th, 'f');
      yield* rw.writeLock(th, 'f');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'f');
  t.is(o.failure?.detail, 'recursive locking of mmu_lock');
  t.regex(o.failure!.message, /while already holding it since f:mmu_lock\.read_lock/);
});

test('down_read of an rwsem under a spinlock sleeps in atomic context; read_lock of an rwlock does not', (t) => {
  for (const kind of ['rwlock', 'rwsem'] as const) {
    const o = runSolo((ex) => {
      const spin = new Lock(ex, 'pages_lock', 'spinlock');
      const rw = new RwLock(ex, 'l', kind);
      return function* (th): Step {
        yield* spin.lock(th, 'f');
        yield* rw.readLock(th, 'g');
        yield* rw.readUnlock(th, 'g');
        yield* spin.unlock(th, 'f');
      };
    });
    if (kind === 'rwlock') t.is(o.failure, null);
    else {
      t.is(o.failure?.kind, 'LOCKDEP');
      t.is(o.failure?.site, 'g');
      t.is(o.failure?.detail, 'sleeping function called from invalid context');
    }
  }
});

test('the trace shows the lock mode held after each step, and isWriteHeldBy tells the writer', (t) => {
  const held: boolean[] = [];
  const o = runSolo((ex) => {
    const rw = new RwLock(ex, 'mmu_lock');
    return function* (th): Step {
      yield* rw.readLock(th, 'f');
      held.push(rw.isWriteHeldBy(th));
      yield* rw.readUnlock(th, 'f');
      yield* rw.writeLock(th, 'f');
      held.push(rw.isWriteHeldBy(th));
      yield* rw.writeUnlock(th, 'f');
      held.push(rw.isWriteHeldBy(th));
    };
  });
  t.is(o.failure, null);
  t.deepEqual(o.trace!.map((e) => e.locks), ['mmu_lock(R)', '', 'mmu_lock(W)', '']);
  t.deepEqual(held, [false, true, false]);
});

/** R takes mmu_lock for read, drops and re-takes it (cond_resched, or a plain unlock + lock), while W waits for write: who gets it first? */
function relockOrder(src: DecisionSource, condResched: boolean): string[] {
  const ex = new Execution(src, { trace: true });
  const rw = new RwLock(ex, 'mmu_lock');
  const order: string[] = [];
  ex.spawn('R', function* (th): Step {
    yield* rw.readLock(th, 'walk');
    if (condResched) {
      yield* rw.condReschedRead(th, 'walk');
    } else {
      yield* rw.readUnlock(th, 'walk');
      yield* rw.readLock(th, 'walk');
    }
    order.push('R relocked');
    yield* rw.readUnlock(th, 'walk');
  });
  ex.spawn('W', function* (th): Step {
    yield* rw.writeLock(th, 'zap');
    order.push('W locked');
    yield* rw.writeUnlock(th, 'zap');
  });
  if (ex.run().failure !== null) throw new Error('relockOrder: unexpected failure');
  return order;
}

test('cond_resched_rwlock_read lets the waiting writer in under a serial schedule; a preemption can keep the reader going', (t) => {
  // Serial (no preemption): R runs first; at its re-acquisition the default is another thread, W.
  t.deepEqual(relockOrder(preempt(), true), ['W locked', 'R relocked']);
  // The re-acquisition (step 2: read_lock, read_unlock, read_lock) is a real decision: a preemption to R keeps R going.
  t.deepEqual(relockOrder(preempt({ step: 2, thread: 0 }), true), ['R relocked', 'W locked']);
  // A plain read_lock is not a yield: the serial default keeps the running thread.
  t.deepEqual(relockOrder(preempt(), false), ['R relocked', 'W locked']);
});

test('the blockers of a site are per lock: a lock of the same name and site in another execution does not share their readiness', (t) => {
  // A lock held for write by a thread that never releases it (set by hand: a thread may not exit holding it).
  const readUnder = (writerHeld: boolean): Outcome => {
    const ex = new Execution(new FuzzBytesSource());
    const rw = new RwLock(ex, 'mmu_lock');
    ex.spawn('reader', function* (th): Step {
      yield* rw.readLock(th, 'shared_site');
      yield* rw.readUnlock(th, 'shared_site');
    });
    if (writerHeld) rw.writer = ex.spawn('holder', function* (): Step { yield 'holder:idle'; });
    return ex.run();
  };
  // Both orders: the first execution's blockers must not serve the second's lock.
  for (const order of [[true, false], [false, true]] as const) {
    const outcomes = order.map((held) => readUnder(held));
    outcomes.forEach((o, k) => {
      if (order[k]) t.is(o.failure?.kind, 'DEADLOCK', 'the reader waits for the writer of its own lock');
      else t.is(o.failure, null, 'the reader of the free lock runs');
    });
  }
});
