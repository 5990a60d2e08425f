import test from 'ava';
import { Execution, Lock, type DecisionSource, type Outcome, type Step } from '../../src/runtime';
import { ReplayDivergence, ReplaySource } from '../../src/strategies';
import { Cell, ProbeSource, exhaust, preempt, runSolo, stepOf, steps } from './helpers';

const KINDS = ['spinlock', 'mutex'] as const;

/** `threads` threads each do `counter++` (load step, store step), inside the lock when `locked`. */
function runCounter(src: DecisionSource, kind: 'spinlock' | 'mutex', locked: boolean, threads = 3): { o: Outcome; value: number; overlap: boolean } {
  const ex = new Execution(src);
  const lock = new Lock(ex, 'kvm->lock', kind);
  const c = new Cell(ex, 'counter');
  let inside = 0;
  let overlap = false;
  for (let i = 0; i < threads; i++) {
    ex.spawn(`T${i}`, function* (th): Step {
      if (locked) yield* lock.lock(th, 'inc');
      if (++inside > 1) overlap = true;
      yield 'inc:counter.value.load';
      const v = th.load(c, 'value');
      yield 'inc:counter.value.store';
      th.store(c, 'value', v + 1);
      inside--;
      if (locked) yield* lock.unlock(th, 'inc');
    });
  }
  const o = ex.run();
  return { o, value: c.value, overlap };
}

for (const kind of KINDS) {
  test(`${kind}: mutual exclusion over every schedule (no lost update, never two holders)`, (t) => {
    const values = new Set<number>();
    let anyOverlap = false;
    const outs = exhaust((src) => {
      const r = runCounter(src, kind, true);
      values.add(r.value);
      anyOverlap ||= r.overlap;
      return r.o;
    });
    t.true(outs.length > 1);
    t.true(outs.every((o) => o.failure === null));
    t.deepEqual([...values], [3]);
    t.false(anyOverlap);
  });
}

test('negative control: without the lock some schedule loses an update', (t) => {
  const values = new Set<number>();
  let anyOverlap = false;
  exhaust((src) => {
    const r = runCounter(src, 'spinlock', false);
    values.add(r.value);
    anyOverlap ||= r.overlap;
    return r.o;
  });
  t.true(anyOverlap);
  t.true([...values].some((v) => v < 3));
});

/** A holds the lock for one step, then works on; B wants the lock; X runs free steps. */
function runHolder(src: DecisionSource, kind: 'spinlock' | 'mutex', check: (ex: Execution, l: Lock, runnable: number[]) => void, withX = true): Outcome {
  const ex: Execution = new Execution(new ProbeSource(src, (r) => check(ex, lock, r)), { trace: true });
  const lock = new Lock(ex, 'kvm->lock', kind);
  ex.spawn('A', function* (th): Step {
    yield* lock.lock(th, 'a_fn');
    yield 'a_fn:critical';
    yield* lock.unlock(th, 'a_fn');
    yield 'a_fn:after';
  });
  ex.spawn('B', function* (th): Step {
    yield* lock.lock(th, 'b_fn');
    yield* lock.unlock(th, 'b_fn');
  });
  if (withX) {
    ex.spawn('X', function* (): Step {
      yield 'x_fn:work';
      yield 'x_fn:work';
    });
  }
  return ex.run();
}

for (const kind of KINDS) {
  test(`${kind}: a waiter is runnable exactly when the lock is free, and always gets it`, (t) => {
    const bad: string[] = [];
    let blocked = 0;
    const outs = exhaust((src) => runHolder(src, kind, (ex, l, runnable) => {
      const b = ex.threads[1]!;
      if (b.done || b.label !== 'b_fn:kvm->lock.lock') return;
      if (l.owner !== null && l.owner !== b) {
        blocked++;
        if (runnable.includes(1)) bad.push(`step ${ex.step}: B runnable while ${l.owner.name} holds the lock`);
      } else if (!runnable.includes(1)) {
        bad.push(`step ${ex.step}: B not runnable with the lock free`);
      }
    }));
    t.deepEqual(bad, []);
    t.true(blocked > 0);
    for (const o of outs) {
      t.is(o.failure, null);
      const al = stepOf(o, 0, 'a_fn:kvm->lock.lock');
      const au = stepOf(o, 0, 'a_fn:kvm->lock.unlock');
      const bl = stepOf(o, 1, 'b_fn:kvm->lock.lock');
      const bu = stepOf(o, 1, 'b_fn:kvm->lock.unlock');
      t.true(bl >= 0 && bu > bl);
      t.true(bu < al || bl > au, `B's section [${bl}, ${bu}] overlaps A's [${al}, ${au}]`);
    }
  });

  test(`${kind}: the blocked thread wakes at the unlock and takes the lock`, (t) => {
    // A locks at 0; the schedule wants B from step 1 on; B is blocked (forced steps)
    // until A's unlock at 2, and then is picked before A's next step.
    const o = runHolder(preempt({ step: 1, thread: 1 }), kind, () => {}, false);
    t.is(o.failure, null);
    t.deepEqual(steps(o), [
      'A|a_fn:kvm->lock.lock',
      'A|a_fn:critical',
      'A|a_fn:kvm->lock.unlock',
      'B|b_fn:kvm->lock.lock',
      'B|b_fn:kvm->lock.unlock',
      'A|a_fn:after',
    ]);
    t.is(o.trace![3]!.locks, 'kvm->lock');
  });
}

test('a log that picks a thread blocked on a held lock diverges', (t) => {
  t.throws(() => runHolder(new ReplaySource({ schedule: [0, 1], choices: [] }), 'mutex', () => {}), {
    instanceOf: ReplayDivergence,
    message: /not runnable at step 1; runnable: 0,2/,
  });
});

test('owner and isFree follow lock / unlock', (t) => {
  const seen: string[] = [];
  const o = runSolo((ex) => {
    const l = new Lock(ex, 'slots_lock', 'mutex');
    return function* (th): Step {
      seen.push(`${l.isFree}:${l.owner?.name ?? '-'}`);
      yield* l.lock(th, 'f');
      seen.push(`${l.isFree}:${l.owner?.name ?? '-'}`);
      yield* l.unlock(th, 'f');
      seen.push(`${l.isFree}:${l.owner?.name ?? '-'}`);
    };
  });
  t.is(o.failure, null);
  t.deepEqual(seen, ['true:-', 'false:T0', 'true:-']);
  t.deepEqual(steps(o), ['T0|f:slots_lock.lock', 'T0|f:slots_lock.unlock']);
});

test('taking a mutex while holding a spinlock is LOCKDEP "sleeping function called from invalid context"', (t) => {
  const o = runSolo((ex) => {
    const spin = new Lock(ex, 'tdp_mmu_pages_lock', 'spinlock');
    const mutex = new Lock(ex, 'slots_lock', 'mutex');
    return function* (th): Step {
      yield* spin.lock(th, 'outer');
      yield* mutex.lock(th, 'inner');
      yield* mutex.unlock(th, 'inner');
      yield* spin.unlock(th, 'outer');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'inner');
  t.is(o.failure?.detail, 'sleeping function called from invalid context');
  t.regex(o.failure!.message, /acquiring slots_lock.*tdp_mmu_pages_lock \(taken at outer:tdp_mmu_pages_lock\.lock\)/);
  // Reported before the mutex is taken (lockdep checks before blocking).
  t.is(stepOf(o, 0, 'inner:slots_lock.lock'), -1);
});

test('taking a mutex inside an RCU read section is LOCKDEP "sleeping function called from invalid context"', (t) => {
  const o = runSolo((ex) => {
    const mutex = new Lock(ex, 'slots_lock', 'mutex');
    return function* (th): Step {
      yield 'f:rcu_read_lock';
      th.rcuReadLock();
      yield* mutex.lock(th, 'f');
    };
  });
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.detail, 'sleeping function called from invalid context');
  t.regex(o.failure!.message, /rcu_read_lock/);
});

test('a spinlock inside a mutex, and a spinlock inside RCU, are fine', (t) => {
  const o = runSolo((ex) => {
    const spin = new Lock(ex, 'pages_lock', 'spinlock');
    const mutex = new Lock(ex, 'slots_lock', 'mutex');
    return function* (th): Step {
      yield* mutex.lock(th, 'f');
      yield* spin.lock(th, 'f');
      yield* spin.unlock(th, 'f');
      yield* mutex.unlock(th, 'f');
      yield 'f:rcu_read_lock';
      th.rcuReadLock();
      yield* spin.lock(th, 'f');
      yield* spin.unlock(th, 'f');
      th.rcuReadUnlock();
    };
  });
  t.is(o.failure, null);
});

for (const kind of KINDS) {
  test(`${kind}: recursive locking is LOCKDEP (reported before blocking on itself)`, (t) => {
    const o = runSolo((ex) => {
      const l = new Lock(ex, 'kvm->lock', kind);
      return function* (th): Step {
        yield* l.lock(th, 'f');
        yield 'f:work';
        yield* l.lock(th, 'g');
      };
    });
    t.is(o.failure?.kind, 'LOCKDEP');
    t.is(o.failure?.site, 'g');
    t.is(o.failure?.detail, 'recursive locking of kvm->lock');
    t.regex(o.failure!.message, /while already holding it since f:kvm->lock\.lock/);
  });

  test(`${kind}: unlock without holding is a LOCKDEP bad unlock`, (t) => {
    const o = runSolo((ex) => {
      const l = new Lock(ex, 'kvm->lock', kind);
      return function* (th): Step {
        yield* l.unlock(th, 'f');
      };
    });
    t.is(o.failure?.kind, 'LOCKDEP');
    t.is(o.failure?.site, 'f');
    t.is(o.failure?.detail, 'bad unlock balance on kvm->lock');
  });
}

test('unlocking a lock another thread holds is a LOCKDEP bad unlock and leaves the owner', (t) => {
  const ex = new Execution(preempt({ step: 1, thread: 1 }));
  const l = new Lock(ex, 'kvm->lock', 'mutex');
  ex.spawn('A', function* (th): Step {
    yield* l.lock(th, 'a_fn');
    yield 'a_fn:work';
    yield* l.unlock(th, 'a_fn');
  });
  ex.spawn('B', function* (th): Step {
    yield 'b_fn:start';
    yield* l.unlock(th, 'b_fn');
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(o.failure?.site, 'b_fn');
  t.is(o.failure?.thread, 'B');
  t.is(o.failure?.detail, 'bad unlock balance on kvm->lock');
  t.is(l.owner?.name, 'A');
});
