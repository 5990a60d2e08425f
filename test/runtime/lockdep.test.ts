import test from 'ava';
import { Execution, Lock, RwLock, Srcu, type DecisionSource, type Outcome, type Step } from '../../src/runtime';
import { exhaust, preempt, runSolo, stepOf } from './helpers';

/** Thread i takes orders[i][0] then orders[i][1] (one step inside), releasing in reverse. */
function runOrders(src: DecisionSource, orders: readonly (readonly [string, string])[]): Outcome {
  const ex = new Execution(src, { trace: true });
  const locks = new Map<string, Lock>();
  const get = (n: string): Lock => {
    let l = locks.get(n);
    if (l === undefined) {
      l = new Lock(ex, n, 'spinlock');
      locks.set(n, l);
    }
    return l;
  };
  orders.forEach(([a, b], i) => {
    const fn = `fn${i}`;
    ex.spawn(`T${i}`, function* (th): Step {
      yield* get(a).lock(th, fn);
      yield* get(b).lock(th, fn);
      yield `${fn}:work`;
      yield* get(b).unlock(th, fn);
      yield* get(a).unlock(th, fn);
    });
  });
  return ex.run();
}

test('AB/BA across two threads is "possible circular locking" on the serial schedule (no deadlock)', (t) => {
  const o = runOrders(preempt(), [['lock_a', 'lock_b'], ['lock_b', 'lock_a']]);
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'fn1');
  t.is(o.failure?.thread, 'T1');
  t.is(o.failure?.detail, 'possible circular locking lock_b -> lock_a');
  t.regex(o.failure!.message, /earlier: lock_a -> lock_b \(at fn0:lock_b\.lock\)/);
  // T0 had finished (and released everything) before T1 took lock_b: nothing deadlocked.
  t.is(stepOf(o, 0, 'fn0:lock_a.unlock'), 4);
  t.is(stepOf(o, 1, 'fn1:lock_b.lock'), 5);
  // Reported while taking lock_b, before blocking on lock_a.
  t.is(o.failure?.step, 5);
});

test('AB/BA: every schedule reports the inversion as LOCKDEP', (t) => {
  const outs = exhaust((src) => runOrders(src, [['lock_a', 'lock_b'], ['lock_b', 'lock_a']]));
  t.true(outs.length > 1);
  for (const o of outs) {
    t.is(o.failure?.kind, 'LOCKDEP');
    t.regex(o.failure!.detail, /^possible circular locking (lock_a -> lock_b|lock_b -> lock_a)$/);
  }
});

test('AB/AB: the same order everywhere is clean on every schedule', (t) => {
  const outs = exhaust((src) => runOrders(src, [['lock_a', 'lock_b'], ['lock_a', 'lock_b']]));
  t.true(outs.length > 1);
  t.true(outs.every((o) => o.failure === null));
});

test('a three-lock cycle across three threads is reported with the whole chain', (t) => {
  const o = runOrders(preempt(), [['a', 'b'], ['b', 'c'], ['c', 'a']]);
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'fn2');
  t.is(o.failure?.detail, 'possible circular locking c -> a');
  t.regex(o.failure!.message, /earlier: a -> b \(at fn0:b\.lock\), b -> c \(at fn1:c\.lock\)/);
});

test('lock-order edges are per execution', (t) => {
  t.is(runOrders(preempt(), [['lock_a', 'lock_b']]).failure, null);
  t.is(runOrders(preempt(), [['lock_b', 'lock_a']]).failure, null);
});

test('lockdep classes are lock names: nesting two instances of one class is reported', (t) => {
  // Like the kernel (without a nesting annotation): "possible recursive locking".
  const o = runSolo((ex) => {
    const l1 = new Lock(ex, 'sp->lock', 'spinlock');
    const l2 = new Lock(ex, 'sp->lock', 'spinlock');
    return function* (th): Step {
      yield* l1.lock(th, 'f');
      yield* l2.lock(th, 'f');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.detail, 'possible recursive locking of sp->lock');
});

interface HeldCase {
  name: string;
  take: 'read' | 'write' | 'excl' | 'srcu' | 'none';
  assert: 'read' | 'write' | 'any';
  ok: boolean;
}

const HELD_CASES: HeldCase[] = [
  { name: 'read lock, assert read', take: 'read', assert: 'read', ok: true },
  { name: 'read lock, assert any', take: 'read', assert: 'any', ok: true },
  { name: 'read lock, assert write', take: 'read', assert: 'write', ok: false },
  { name: 'write lock, assert write', take: 'write', assert: 'write', ok: true },
  { name: 'write lock, assert any', take: 'write', assert: 'any', ok: true },
  { name: 'write lock, assert read', take: 'write', assert: 'read', ok: false },
  { name: 'mutex, assert write', take: 'excl', assert: 'write', ok: true },
  { name: 'mutex, assert any', take: 'excl', assert: 'any', ok: true },
  { name: 'srcu section, assert read', take: 'srcu', assert: 'read', ok: true },
  { name: 'nothing, assert any', take: 'none', assert: 'any', ok: false },
  { name: 'nothing, assert read', take: 'none', assert: 'read', ok: false },
  { name: 'nothing, assert write', take: 'none', assert: 'write', ok: false },
];

for (const c of HELD_CASES) {
  test(`assertHeld: ${c.name} → ${c.ok ? 'passes' : 'LOCKDEP'}`, (t) => {
    const o = runSolo((ex) => {
      const rw = new RwLock(ex, 'mmu_lock');
      const m = new Lock(ex, 'mmu_lock', 'mutex');
      const s = new Srcu(ex, 'mmu_lock');
      let idx = 0;
      return function* (th): Step {
        if (c.take === 'read') yield* rw.readLock(th, 'f');
        else if (c.take === 'write') yield* rw.writeLock(th, 'f');
        else if (c.take === 'excl') yield* m.lock(th, 'f');
        else if (c.take === 'srcu') idx = yield* s.readLock(th, 'f');
        else yield 'f:start';
        const target = c.take === 'excl' ? m : c.take === 'srcu' ? s : rw;
        th.assertHeld(target, c.assert, 'kvm_tdp_mmu_zap_leafs');
        if (c.take === 'read') yield* rw.readUnlock(th, 'f');
        else if (c.take === 'write') yield* rw.writeUnlock(th, 'f');
        else if (c.take === 'excl') yield* m.unlock(th, 'f');
        else if (c.take === 'srcu') yield* s.readUnlock(th, idx, 'f');
      };
    });
    if (c.ok) {
      t.is(o.failure, null, o.failure?.message);
    } else {
      t.is(o.failure?.kind, 'LOCKDEP');
      t.is(o.failure?.site, 'kvm_tdp_mmu_zap_leafs');
      t.is(o.failure?.detail, c.assert === 'any' ? 'mmu_lock not held' : `mmu_lock not held for ${c.assert}`);
    }
  });
}

test('assertHeld fails when another lock of a different class is held, and names what is held', (t) => {
  const o = runSolo((ex) => {
    const a = new RwLock(ex, 'mmu_lock');
    const b = new Lock(ex, 'slots_lock', 'mutex');
    return function* (th): Step {
      yield* b.lock(th, 'f');
      th.assertHeld(a, 'any');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'f');
  t.is(o.failure?.detail, 'mmu_lock not held');
  t.regex(o.failure!.message, /it holds slots_lock\(excl\)/);
});

test('assertHeld on a lock held by another thread fails', (t) => {
  const ex = new Execution(preempt({ step: 1, thread: 1 }));
  const rw = new RwLock(ex, 'mmu_lock');
  ex.spawn('A', function* (th): Step {
    yield* rw.writeLock(th, 'a_fn');
    yield 'a_fn:work';
    yield* rw.writeUnlock(th, 'a_fn');
  });
  ex.spawn('B', function* (th): Step {
    yield 'b_fn:check';
    th.assertHeld(rw, 'write');
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.thread, 'B');
  t.is(o.failure?.detail, 'mmu_lock not held for write');
});

test('a thread that finishes holding a lock is LOCKDEP "lock held when thread exits"', (t) => {
  const o = runSolo((ex) => {
    const l = new Lock(ex, 'kvm->lock', 'mutex');
    const rw = new RwLock(ex, 'mmu_lock');
    return function* (th): Step {
      yield* l.lock(th, 'kvm_vm_ioctl');
      yield* rw.readLock(th, 'kvm_mmu_zap');
    };
  }, {}, 'ioctl');
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'kvm_mmu_zap');
  t.is(o.failure?.detail, 'lock held when thread exits');
  t.is(o.failure?.thread, 'ioctl');
  t.is(o.failure?.message, 'ioctl finished while holding kvm->lock mmu_lock(R)');
});

test('mightSleep: fine outside atomic context, LOCKDEP under a spinlock or rwlock', (t) => {
  const ok = runSolo((ex) => {
    const m = new Lock(ex, 'slots_lock', 'mutex');
    return function* (th): Step {
      yield* m.lock(th, 'f');
      th.mightSleep();
      yield* m.unlock(th, 'f');
    };
  });
  t.is(ok.failure, null);
  for (const kind of ['spinlock', 'rwlock'] as const) {
    const o = runSolo((ex) => {
      const l = kind === 'spinlock' ? new Lock(ex, 'mmu_lock', 'spinlock') : new RwLock(ex, 'mmu_lock', 'rwlock');
      return function* (th): Step {
        if (l instanceof Lock) yield* l.lock(th, 'f');
        else yield* l.readLock(th, 'f');
        th.mightSleep('kvm_zap', 'cond_resched');
      };
    });
    t.is(o.failure?.kind, 'LOCKDEP');
    t.is(o.failure?.site, 'kvm_zap');
    t.is(o.failure?.detail, 'sleeping function called from invalid context');
    t.regex(o.failure!.message, /may sleep \(cond_resched\) while holding mmu_lock/);
  }
});

test('an SRCU read section does not add dependencies on the locks it is taken under', (t) => {
  // L held while entering the read section does not make L -> srcu; so a second thread
  // taking L inside the section (srcu -> L) is not a cycle.
  const outs = exhaust((src) => {
    const ex = new Execution(src);
    const srcu = new Srcu(ex, 'kvm->srcu');
    const l = new Lock(ex, 'slots_lock', 'mutex');
    ex.spawn('A', function* (th): Step {
      yield* l.lock(th, 'a_fn');
      const i = yield* srcu.readLock(th, 'a_fn');
      yield* srcu.readUnlock(th, i, 'a_fn');
      yield* l.unlock(th, 'a_fn');
    });
    ex.spawn('B', function* (th): Step {
      const i = yield* srcu.readLock(th, 'b_fn');
      yield* l.lock(th, 'b_fn');
      yield* l.unlock(th, 'b_fn');
      yield* srcu.readUnlock(th, i, 'b_fn');
    });
    return ex.run();
  });
  t.true(outs.every((o) => o.failure === null));
});
