import test from 'ava';
import { Execution, Lock, Srcu, signatureOf, type Blocker, type DecisionSource, type Outcome, type Step } from '../../src/runtime';
import { Cell, exhaust, preempt, steps } from './helpers';

/** A `struct completion`: wait_for_completion blocks until complete() ran (not a lockdep class). */
class Completion {
  done = false;
  constructor(readonly name: string) {}
  wait(fn: string): Blocker {
    return { label: `${fn}:wait_for_completion(${this.name})`, waitsFor: this.name, ready: () => this.done };
  }
}

test('an AB/BA schedule that really deadlocks is reported as LOCKDEP first, before anyone blocks', (t) => {
  // A takes lock_a (0); B takes lock_b (1) and, asking for lock_a, closes the cycle.
  const ex = new Execution(preempt({ step: 1, thread: 1 }), { trace: true });
  const a = new Lock(ex, 'lock_a', 'mutex');
  const b = new Lock(ex, 'lock_b', 'mutex');
  ex.spawn('A', function* (th): Step {
    yield* a.lock(th, 'a_fn');
    yield* b.lock(th, 'a_fn');
    yield* b.unlock(th, 'a_fn');
    yield* a.unlock(th, 'a_fn');
  });
  ex.spawn('B', function* (th): Step {
    yield* b.lock(th, 'b_fn');
    yield* a.lock(th, 'b_fn');
    yield* a.unlock(th, 'b_fn');
    yield* b.unlock(th, 'b_fn');
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'LOCKDEP');
  t.is(signatureOf(o.failure!), 'LOCKDEP b_fn: possible circular locking lock_b -> lock_a');
  t.is(o.failure?.step, 1);
  // At that point each thread holds the lock the other wants: the next step would be a deadlock.
  t.is(a.owner?.name, 'A');
  t.is(b.owner?.name, 'B');
});

/**
 * A reader holds an SRCU read section and waits for a completion that the
 * updater signals only after synchronize_srcu: no lock-order cycle (a
 * completion is not a lockdep class), but a real deadlock when the reader
 * entered before the updater called synchronize.
 */
function runSrcuCompletion(src: DecisionSource): Outcome {
  const ex = new Execution(src, { trace: true });
  const srcu = new Srcu(ex, 'kvm->srcu');
  const done = new Completion('done');
  ex.spawn('reader', function* (th): Step {
    const idx = yield* srcu.readLock(th, 'vcpu_fn');
    yield done.wait('vcpu_fn');
    yield* srcu.readUnlock(th, idx, 'vcpu_fn');
  });
  ex.spawn('updater', function* (th): Step {
    yield 'update_fn:prepare';
    yield* srcu.synchronize(th, 'update_fn');
    done.done = true;
  });
  return ex.run();
}

test('a real deadlock with no lock-order cycle is DEADLOCK', (t) => {
  // Serial: reader enters (0), waits; updater prepares (1), synchronize waits for the reader.
  const o = runSrcuCompletion(preempt());
  const f = o.failure!;
  t.is(f.kind, 'DEADLOCK');
  t.is(f.site, 'update_fn / vcpu_fn');
  t.is(f.detail, 'waiting for done, kvm->srcu readers');
  t.is(f.thread, '');
  t.is(f.step, 2);
  t.is(o.steps, 2);
  t.regex(f.message, /no thread can run: reader waits at vcpu_fn:wait_for_completion\(done\) holding \[kvm->srcu\(srcu\)\]; updater waits at update_fn:synchronize_srcu_expedited\(kvm->srcu\) holding \[\]/);
  t.deepEqual(steps(o), ['reader|vcpu_fn:kvm->srcu.srcu_read_lock', 'updater|update_fn:prepare']);
});

test('the SRCU/completion program deadlocks exactly when the reader entered before synchronize', (t) => {
  const kinds = new Set<string>();
  for (const o of exhaust(runSrcuCompletion)) {
    kinds.add(o.failure === null ? 'clean' : o.failure.kind);
    const prepare = o.trace!.findIndex((e) => e.label === 'update_fn:prepare');
    const enter = o.trace!.findIndex((e) => e.label === 'vcpu_fn:kvm->srcu.srcu_read_lock');
    t.true(prepare >= 0 && enter >= 0);
    // synchronize is called at the end of the prepare step: it waits for the reader iff it entered first.
    t.is(o.failure === null ? 'clean' : o.failure.kind, enter < prepare ? 'DEADLOCK' : 'clean');
  }
  t.deepEqual([...kinds].sort(), ['DEADLOCK', 'clean']);
});

test('a thread waiting on a condition nobody will make true is DEADLOCK', (t) => {
  const ex = new Execution(preempt());
  ex.spawn('waiter', function* (): Step {
    yield 'w_fn:start';
    yield { label: 'w_fn:wait_event', waitsFor: 'never', ready: () => false };
  });
  ex.spawn('other', function* (): Step {
    yield 'o_fn:work';
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'DEADLOCK');
  t.is(o.failure?.site, 'w_fn');
  t.is(o.failure?.detail, 'waiting for never');
  t.is(o.steps, 2);
});

test('a blocked daemon does not make a deadlock; a blocked non-daemon behind it does', (t) => {
  const clean = new Execution(preempt());
  clean.spawn('daemon', function* (): Step {
    yield { label: 'd_fn:wait', waitsFor: 'work', ready: () => false };
  }, { daemon: true });
  clean.spawn('main', function* (): Step {
    yield 'm_fn:work';
  });
  t.is(clean.run().failure, null);

  const dead = new Execution(preempt());
  const l = new Lock(dead, 'kvm->lock', 'mutex');
  dead.spawn('daemon', function* (th): Step {
    yield* l.lock(th, 'd_fn');
    yield { label: 'd_fn:wait', waitsFor: 'work', ready: () => false };
  }, { daemon: true });
  dead.spawn('main', function* (th): Step {
    yield* l.lock(th, 'm_fn');
  });
  const o = dead.run();
  t.is(o.failure?.kind, 'DEADLOCK');
  // Only non-daemon threads are listed.
  t.is(o.failure?.site, 'm_fn');
  t.is(o.failure?.detail, 'waiting for kvm->lock');
});

test('a thread that never stops is a HANG at the step bound', (t) => {
  const ex = new Execution(preempt(), { maxSteps: 50 });
  ex.spawn('ok', function* (): Step {
    yield 'ok_fn:work';
  });
  ex.spawn('spinner', function* (): Step {
    for (;;) yield 'spin_fn:loop';
  });
  const o = ex.run();
  const f = o.failure!;
  t.is(f.kind, 'HANG');
  t.is(f.site, 'spin_fn');
  t.is(f.detail, 'step bound exceeded');
  t.is(f.thread, 'spinner');
  t.is(o.steps, 50);
  t.regex(f.message, /^50 steps run without finishing; spinner has run 49 steps and is at spin_fn:loop$/);
});

test('HANG, not DEADLOCK, when a thread spins while another is blocked for good', (t) => {
  const ex = new Execution(preempt(), { maxSteps: 20 });
  const flag = new Cell(ex, 'flag');
  ex.spawn('blocked', function* (): Step {
    yield { label: 'b_fn:wait', waitsFor: 'never', ready: () => false };
  });
  ex.spawn('poller', function* (th): Step {
    for (;;) {
      yield 'p_fn:flag.load';
      if (th.load(flag, 'flag')) break;
    }
  });
  const o = ex.run();
  t.is(o.failure?.kind, 'HANG');
  t.is(o.failure?.site, 'p_fn');
});

test('the step bound counts every step: a program of exactly maxSteps steps is clean', (t) => {
  const ex = new Execution(preempt(), { maxSteps: 3 });
  ex.spawn('T', function* (): Step {
    yield 'f:1';
    yield 'f:2';
    yield 'f:3';
  });
  const o = ex.run();
  t.is(o.failure, null);
  t.is(o.steps, 3);
});
