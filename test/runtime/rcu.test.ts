import test from 'ava';
import { Execution, KObject, Lock, Rcu, type DecisionSource, type Outcome, type SimThread, type Step } from '../../src/runtime';
import { ReplaySource } from '../../src/strategies';
import { Cell, exhaust, preempt, runSolo, stepOf, steps } from './helpers';

class Gp extends KObject {
  ptr: Cell | null = null;
  constructor(ex: Execution) {
    super(ex, 'gp', 'gp');
  }
}

interface PublishRun {
  o: Outcome;
  queued: number;
  ran: number;
  pending: number;
  /** Callbacks that ran while a reader that was inside at call_rcu time was still in that section. */
  early: number;
  /** A reader was inside its section when call_rcu ran. */
  queuedUnderReader: boolean;
  /** The callback ran while a reader whose section began after call_rcu was inside. */
  ranDuringNewReader: boolean;
}

/**
 * The classic RCU pattern: readers dereference gp->ptr inside a read section;
 * the updater unpublishes it and frees the old object with call_rcu (or,
 * when `freeNow`, frees it at once — the bug RCU prevents).
 */
function runPublish(src: DecisionSource, readers: number, freeNow = false): PublishRun {
  const ex = new Execution(src, { trace: true });
  const rcu = new Rcu(ex);
  const gp = new Gp(ex);
  gp.ptr = new Cell(ex, 'obj');
  const readerThreads: SimThread[] = [];
  const r: PublishRun = { o: null as unknown as Outcome, queued: 0, ran: 0, pending: 0, early: 0, queuedUnderReader: false, ranDuringNewReader: false };
  for (let i = 0; i < readers; i++) {
    readerThreads.push(ex.spawn(`R${i}`, function* (th): Step {
      yield 'reader:rcu_read_lock';
      th.rcuReadLock();
      yield 'reader:gp.ptr.load';
      const p = th.load(gp, 'ptr');
      if (p !== null) {
        yield 'reader:obj.value.load';
        th.load(p, 'value');
      }
      yield 'reader:rcu_read_unlock';
      th.rcuReadUnlock();
    }));
  }
  ex.spawn('U', function* (th): Step {
    yield 'updater:gp.ptr.xchg';
    const old = th.xchg(gp, 'ptr', null);
    if (old === null) return;
    if (freeNow) {
      yield 'updater:obj.free';
      th.free(old);
      return;
    }
    const inside = readerThreads.filter((x) => x.rcuDepth > 0).map((x) => [x, x.rcuSeq] as const);
    r.queuedUnderReader ||= inside.length > 0;
    r.queued++;
    rcu.callRcu(th, `free(${old.name})`, (a) => {
      for (const [x, seq] of inside) if (x.rcuDepth > 0 && x.rcuSeq === seq) r.early++;
      const old2 = new Set(inside.map(([x]) => x));
      if (readerThreads.some((x) => x.rcuDepth > 0 && !old2.has(x))) r.ranDuringNewReader = true;
      if (inside.some(([x, seq]) => x.rcuDepth > 0 && x.rcuSeq !== seq)) r.ranDuringNewReader = true;
      r.ran++;
      a.free(old);
    });
  });
  rcu.spawnActor();
  r.o = ex.run();
  r.pending = rcu.pending;
  return r;
}

test('over every schedule, a call_rcu callback never runs while a reader from before it is inside', (t) => {
  let underReader = 0;
  let duringNew = 0;
  const outs = exhaust((src) => {
    const r = runPublish(src, 2);
    if (r.o.failure === null) {
      if (r.early > 0) t.fail(`callback ran early in schedule ${r.o.decisions.schedule.join('.')}`);
      // Callbacks run eventually: the actor drains everything before the execution ends.
      if (r.queued !== 1 || r.ran !== 1 || r.pending !== 0) t.fail(`queued ${r.queued}, ran ${r.ran}, pending ${r.pending}`);
    }
    if (r.queuedUnderReader) underReader++;
    if (r.ranDuringNewReader) duringNew++;
    return r.o;
  });
  t.true(outs.length > 10);
  t.deepEqual(outs.filter((o) => o.failure !== null).map((o) => o.failure!.message), []);
  t.true(underReader > 0, 'call_rcu never ran under a reader');
  t.true(duringNew > 0, 'a reader that began after call_rcu always held the callback up');
});

test('negative control: freeing without a grace period is a UAF in some schedule', (t) => {
  const outs = exhaust((src) => runPublish(src, 1, true).o);
  const uaf = outs.filter((o) => o.failure?.kind === 'UAF');
  t.true(uaf.length > 0);
  t.is(uaf[0]!.failure!.site, 'reader');
  t.is(uaf[0]!.failure!.detail, 'cell freed by updater');
});

test('callbacks run at the end even when the actor never got a chance before', (t) => {
  // Serial: R0 runs its whole section, then U queues; the actor drains it afterwards.
  const r = runPublish(preempt(), 1);
  t.is(r.o.failure, null);
  t.is(r.ran, 1);
  t.is(r.pending, 0);
  const last = r.o.trace![r.o.trace!.length - 1]!;
  t.is(r.o.threads[last.thread], 'rcu');
  t.is(last.label, 'rcu_do_batch:rcu.callbacks');
  t.regex(last.detail, /run free\(obj\) \(queued at updater:gp\.ptr\.xchg\)/);
});

test('without an RCU actor, queued callbacks never run (and the execution is still clean)', (t) => {
  let pending = -1;
  let ran = false;
  const o = runSolo((ex) => {
    const rcu = new Rcu(ex);
    return function* (th): Step {
      yield 'f:call_rcu';
      rcu.callRcu(th, 'cb', () => { ran = true; });
      pending = rcu.pending;
    };
  });
  t.is(o.failure, null);
  t.is(pending, 1);
  t.false(ran);
});

test('a callback waits for the outermost unlock of a nested read section', (t) => {
  const outs = exhaust((src) => {
    const ex = new Execution(src, { trace: true });
    const rcu = new Rcu(ex);
    ex.spawn('R', function* (th): Step {
      yield 'reader:lock_outer';
      th.rcuReadLock();
      yield 'reader:lock_inner';
      th.rcuReadLock();
      yield 'reader:unlock_inner';
      th.rcuReadUnlock();
      yield 'reader:still_inside';
      yield 'reader:unlock_outer';
      th.rcuReadUnlock();
    });
    ex.spawn('U', function* (th): Step {
      yield 'updater:call_rcu';
      rcu.callRcu(th, 'cb', () => {});
    });
    rcu.spawnActor();
    return ex.run();
  });
  let checked = 0;
  for (const o of outs) {
    t.is(o.failure, null);
    const q = stepOf(o, 1, 'updater:call_rcu');
    const lo = stepOf(o, 0, 'reader:lock_outer');
    const uo = stepOf(o, 0, 'reader:unlock_outer');
    const cb = stepOf(o, 2, 'rcu_do_batch:rcu.callbacks');
    t.true(cb >= 0, 'callback never ran');
    if (lo < q && q < uo) {
      checked++;
      t.true(cb > uo, `callback at ${cb} inside the outer section [${lo}, ${uo}]`);
    }
  }
  t.true(checked > 0);
});

test('call_rcu from inside its own read section waits for that section to end', (t) => {
  const outs = exhaust((src) => {
    const ex = new Execution(src, { trace: true });
    const rcu = new Rcu(ex);
    ex.spawn('U', function* (th): Step {
      yield 'updater:rcu_read_lock';
      th.rcuReadLock();
      rcu.callRcu(th, 'cb', () => {});
      yield 'updater:inside';
      yield 'updater:rcu_read_unlock';
      th.rcuReadUnlock();
    });
    rcu.spawnActor();
    return ex.run();
  });
  // The actor is never runnable before the unlock: the only schedule is serial.
  t.is(outs.length, 1);
  t.deepEqual(steps(outs[0]!), [
    'U|updater:rcu_read_lock',
    'U|updater:inside',
    'U|updater:rcu_read_unlock',
    'rcu|rcu_do_batch:rcu.callbacks',
  ]);
});

test('a reader that left and re-entered does not hold up a callback queued during its first section', (t) => {
  // R: section 1 (steps lock1, unlock1), section 2 (lock2, unlock2). U queues during section 1.
  // Schedule: R lock1 (0), U call_rcu (1), R unlock1 (2, forced), R lock2 (3), actor (4).
  // If the grace period wrongly waited for R's *second* section, the actor would not be
  // runnable at step 4 and the replay would diverge.
  const ex = new Execution(new ReplaySource({ schedule: [0, 1, 0, 2], choices: [] }), { trace: true });
  const rcu = new Rcu(ex);
  let ranInside = false;
  const r = ex.spawn('R', function* (th): Step {
    yield 'reader:lock1';
    th.rcuReadLock();
    yield 'reader:unlock1';
    th.rcuReadUnlock();
    yield 'reader:lock2';
    th.rcuReadLock();
    yield 'reader:unlock2';
    th.rcuReadUnlock();
  });
  ex.spawn('U', function* (th): Step {
    yield 'updater:call_rcu';
    rcu.callRcu(th, 'cb', () => { ranInside = r.rcuDepth > 0; });
  });
  rcu.spawnActor();
  const o = ex.run();
  t.is(o.failure, null);
  t.deepEqual(steps(o), [
    'R|reader:lock1',
    'U|updater:call_rcu',
    'R|reader:unlock1',
    'R|reader:lock2',
    'rcu|rcu_do_batch:rcu.callbacks',
    'R|reader:unlock2',
  ]);
  t.true(ranInside);
});

test('the actor runs ready callbacks in an order the scheduler chooses', (t) => {
  const orders = new Set<string>();
  exhaust((src) => {
    const ex = new Execution(src);
    const rcu = new Rcu(ex);
    const order: string[] = [];
    ex.spawn('U', function* (th): Step {
      yield 'updater:call_rcu';
      rcu.callRcu(th, 'a', () => order.push('a'));
      rcu.callRcu(th, 'b', () => order.push('b'));
    });
    rcu.spawnActor();
    const o = ex.run();
    orders.add(order.join(''));
    return o;
  });
  t.deepEqual([...orders].sort(), ['ab', 'ba']);
});

/** S (thread 0): a step, synchronize_rcu (called at the end of that step), a step. R (thread 1): a read section. */
function runSyncRcu(src: DecisionSource): Outcome {
  const ex = new Execution(src, { trace: true });
  const rcu = new Rcu(ex);
  ex.spawn('S', function* (th): Step {
    yield 'sync_fn:prepare';
    yield* rcu.synchronize(th, 'sync_fn');
    yield 'sync_fn:after';
  });
  ex.spawn('R', function* (th): Step {
    yield 'reader:lock';
    th.rcuReadLock();
    yield 'reader:cs';
    yield 'reader:unlock';
    th.rcuReadUnlock();
  });
  return ex.run();
}

test('over every schedule, synchronize_rcu waits for readers inside at the call and not for later ones', (t) => {
  let old = 0;
  let newer = 0;
  const outs = exhaust(runSyncRcu);
  for (const o of outs) {
    t.is(o.failure, null);
    const a = stepOf(o, 1, 'reader:lock');
    const b = stepOf(o, 1, 'reader:unlock');
    const p = stepOf(o, 0, 'sync_fn:prepare');
    const q = stepOf(o, 0, 'sync_fn:synchronize_rcu');
    if (a < p && p < b) {
      old++;
      t.true(q > b, `synchronize_rcu returned at ${q} inside the old section [${a}, ${b}]`);
    }
    if (a > p && q < b) newer++;
  }
  t.true(old > 0);
  t.true(newer > 0);
});

test('synchronize_rcu: a specific schedule where it blocks until the old reader unlocks', (t) => {
  const o = runSyncRcu(preempt({ step: 0, thread: 1 }, { step: 1, thread: 0 }));
  t.is(o.failure, null);
  t.deepEqual(steps(o), [
    'R|reader:lock',
    'S|sync_fn:prepare',
    'R|reader:cs',
    'R|reader:unlock',
    'S|sync_fn:synchronize_rcu',
    'S|sync_fn:after',
  ]);
});

test('rcu_read_unlock without rcu_read_lock is LOCKDEP', (t) => {
  const o = runSolo(() => function* (th): Step {
    yield 'kvm_walk:rcu_read_unlock';
    th.rcuReadUnlock();
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'kvm_walk');
  t.is(o.failure?.detail, 'rcu_read_unlock without rcu_read_lock');
});

test('a thread exiting inside an RCU read section is LOCKDEP', (t) => {
  const o = runSolo(() => function* (th): Step {
    yield 'kvm_walk:rcu_read_lock';
    th.rcuReadLock();
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'kvm_walk');
  t.is(o.failure?.detail, 'rcu_read_lock held when thread exits');
  t.is(o.failure?.thread, 'T0');
});

test('synchronize_rcu inside a read section or under a spinlock is LOCKDEP sleeping in atomic context', (t) => {
  const inRcu = runSolo((ex) => {
    const rcu = new Rcu(ex);
    return function* (th): Step {
      yield 'f:rcu_read_lock';
      th.rcuReadLock();
      yield* rcu.synchronize(th, 'f');
    };
  });
  t.is(inRcu.failure?.kind, 'LOCKDEP');
  t.is(inRcu.failure?.detail, 'sleeping function called from invalid context');
  t.regex(inRcu.failure!.message, /synchronize_rcu.*rcu_read_lock/);
  const underSpin = runSolo((ex) => {
    const rcu = new Rcu(ex);
    const l = new Lock(ex, 'mmu_lock', 'spinlock');
    return function* (th): Step {
      yield* l.lock(th, 'f');
      yield* rcu.synchronize(th, 'f');
    };
  });
  t.is(underSpin.failure?.kind, 'LOCKDEP');
  t.is(underSpin.failure?.detail, 'sleeping function called from invalid context');
});

test('the trace shows "rcu" among the held locks inside a read section', (t) => {
  const o = runSolo(() => function* (th): Step {
    yield 'f:lock';
    th.rcuReadLock();
    yield 'f:unlock';
    th.rcuReadUnlock();
  });
  t.deepEqual(o.trace!.map((e) => e.locks), ['rcu', '']);
});
