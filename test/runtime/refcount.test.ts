import test from 'ava';
import { Execution, REFCOUNT_SATURATED, Refcount, signatureOf, type Outcome, type SimThread, type Step } from '../../src/runtime';
import { Cell, exhaust, runSolo } from './helpers';

/** Runs `body` on a fresh `kvm` object with `users_count` starting at `initial`. */
function withRef(initial: number, body: (th: SimThread, rc: Refcount, kvm: Cell) => Step, panicOnWarn = true): { o: Outcome; rc: Refcount } {
  let rc: Refcount | null = null;
  const o = runSolo((ex) => {
    const kvm = new Cell(ex, 'kvm', 'kvm');
    const r = new Refcount(kvm, 'users_count', initial);
    rc = r;
    return (th) => body(th, r, kvm);
  }, { panicOnWarn });
  return { o, rc: rc! };
}

test('inc_not_zero fails at 0 and leaves the count at 0; succeeds above 0', (t) => {
  const results: boolean[] = [];
  const zero = withRef(0, function* (th, rc) {
    yield 'kvm_get_kvm_safe:users_count.inc_not_zero';
    results.push(rc.incNotZero(th));
  });
  t.is(zero.o.failure, null);
  t.deepEqual(zero.o.warnings, []);
  t.is(zero.rc.value, 0);
  const one = withRef(1, function* (th, rc) {
    yield 'kvm_get_kvm_safe:users_count.inc_not_zero';
    results.push(rc.incNotZero(th));
  });
  t.is(one.o.failure, null);
  t.is(one.rc.value, 2);
  t.deepEqual(results, [false, true]);
});

test('inc from 0 is REFCOUNT "addition on 0; use-after-free" and saturates', (t) => {
  const { o, rc } = withRef(0, function* (th, rc) {
    yield 'kvm_get_kvm:users_count.inc';
    rc.inc(th);
  });
  t.is(o.failure?.kind, 'REFCOUNT');
  t.is(o.failure?.site, 'kvm_get_kvm');
  t.is(o.failure?.detail, 'refcount_t: addition on 0; use-after-free');
  t.is(signatureOf(o.failure!), 'REFCOUNT kvm_get_kvm: refcount_t: addition on 0; use-after-free');
  t.regex(o.failure!.message, /kvm\.users_count was 0; saturated/);
  t.is(rc.value, REFCOUNT_SATURATED);
});

test('dec_and_test below 0 is REFCOUNT "underflow; use-after-free", saturates, and returns false', (t) => {
  const ret: boolean[] = [];
  const { o, rc } = withRef(0, function* (th, rc) {
    yield 'kvm_put_kvm:users_count.dec_and_test';
    ret.push(rc.decAndTest(th));
  }, false);
  t.is(o.failure?.kind, 'REFCOUNT');
  t.is(o.failure?.site, 'kvm_put_kvm');
  t.is(o.failure?.detail, 'refcount_t: underflow; use-after-free');
  t.is(rc.value, REFCOUNT_SATURATED);
  t.deepEqual(ret, [false]);
});

test('dec_and_test is true exactly when it drops the count to 0', (t) => {
  const ret: boolean[] = [];
  const { o, rc } = withRef(2, function* (th, rc) {
    yield 'put:dec_and_test';
    ret.push(rc.decAndTest(th));
    yield 'put:dec_and_test';
    ret.push(rc.decAndTest(th));
  });
  t.is(o.failure, null);
  t.deepEqual(ret, [false, true]);
  t.is(rc.value, 0);
});

test('dec to 0 is REFCOUNT "decrement hit 0; leaking memory"; dec from 2 is fine', (t) => {
  const ok = withRef(2, function* (th, rc) {
    yield 'put:dec';
    rc.dec(th);
  });
  t.is(ok.o.failure, null);
  t.is(ok.rc.value, 1);
  const { o, rc } = withRef(1, function* (th, rc) {
    yield 'put:dec';
    rc.dec(th);
  });
  t.is(o.failure?.kind, 'REFCOUNT');
  t.is(o.failure?.detail, 'refcount_t: decrement hit 0; leaking memory');
  t.is(rc.value, REFCOUNT_SATURATED);
});

// lib/refcount.c / include/linux/refcount.h: __refcount_dec() warns REFCOUNT_DEC_LEAK
// ("decrement hit 0; leaking memory") whenever old <= 1, i.e. also for a refcount_dec()
// from 0 or from a saturated value.
test('refcount_dec from 0 warns "decrement hit 0; leaking memory" like the kernel', (t) => {
  const { o } = withRef(0, function* (th, rc) {
    yield 'put:dec';
    rc.dec(th);
  });
  t.is(o.failure?.detail, 'refcount_t: decrement hit 0; leaking memory');
});

test('inc and inc_not_zero on a saturated count are REFCOUNT "saturated; leaking memory"', (t) => {
  const ret: boolean[] = [];
  const { o, rc } = withRef(REFCOUNT_SATURATED, function* (th, rc) {
    yield 'get:inc';
    rc.inc(th);
    yield 'get:inc_not_zero';
    ret.push(rc.incNotZero(th));
  }, false);
  t.deepEqual(o.warnings.map((w) => w.detail), ['refcount_t: saturated; leaking memory', 'refcount_t: saturated; leaking memory']);
  t.deepEqual(ret, [true]);
  t.is(rc.value, REFCOUNT_SATURATED);
});

test('panicOnWarn: true ends the execution at the REFCOUNT step', (t) => {
  let after = false;
  const { o } = withRef(0, function* (th, rc) {
    yield 'f:first';
    yield 'kvm_get_kvm:users_count.inc';
    rc.inc(th);
    after = true;
    yield 'f:after';
  });
  t.is(o.failure?.kind, 'REFCOUNT');
  t.is(o.failure?.step, 1);
  t.is(o.steps, 1);
  t.false(after);
  t.is(o.trace!.length, 2);
});

test('panicOnWarn: false collects REFCOUNT warnings and the execution goes on', (t) => {
  let after = false;
  const { o, rc } = withRef(0, function* (th, rc) {
    yield 'kvm_get_kvm:users_count.inc';
    rc.inc(th);
    yield 'kvm_put_kvm:users_count.dec';
    rc.dec(th); // saturated: the kernel's __refcount_dec warns "decrement hit 0" for old <= 1
    yield 'f:after';
    after = true;
  }, false);
  t.true(after);
  t.is(o.steps, 3);
  t.deepEqual(o.warnings.map((w) => signatureOf(w)), [
    'REFCOUNT kvm_get_kvm: refcount_t: addition on 0; use-after-free',
    'REFCOUNT kvm_put_kvm: refcount_t: decrement hit 0; leaking memory',
  ]);
  t.is(o.failure, o.warnings[0]);
  t.is(rc.value, REFCOUNT_SATURATED);
  t.regex(o.trace![0]!.detail, /WARN: REFCOUNT kvm_get_kvm: refcount_t: addition on 0/);
});

test('read and set', (t) => {
  const seen: number[] = [];
  const { o, rc } = withRef(3, function* (th, rc) {
    yield 'f:read';
    seen.push(rc.read(th));
    yield 'f:set';
    rc.set(th, 7);
    yield 'f:read';
    seen.push(rc.read(th));
  });
  t.is(o.failure, null);
  t.deepEqual(seen, [3, 7]);
  t.is(rc.value, 7);
  t.deepEqual(o.trace!.map((e) => e.detail), ['kvm.users_count → 3', 'kvm.users_count ← 7', 'kvm.users_count → 7']);
});

for (const op of ['read', 'set', 'inc', 'incNotZero', 'decAndTest', 'dec'] as const) {
  test(`refcount ${op} on a freed owner is UAF naming both sites`, (t) => {
    const { o } = withRef(2, function* (th, rc, kvm) {
      yield 'kvm_destroy_vm:kvm.free';
      th.free(kvm);
      yield 'kvm_get_kvm:users_count.op';
      if (op === 'set') rc.set(th, 1);
      else rc[op](th);
    });
    t.is(o.failure?.kind, 'UAF');
    t.is(o.failure?.site, 'kvm_get_kvm');
    t.is(o.failure?.detail, 'kvm freed by kvm_destroy_vm');
    t.regex(o.failure!.message, /users_count/);
    t.regex(o.failure!.message, /kvm_get_kvm:users_count\.op/);
    t.regex(o.failure!.message, /kvm_destroy_vm:kvm\.free/);
  });
}

test('over every schedule, two concurrent puts free the object exactly once', (t) => {
  const frees: number[] = [];
  const outs = exhaust((src) => {
    const ex = new Execution(src);
    const kvm = new Cell(ex, 'kvm', 'kvm');
    const rc = new Refcount(kvm, 'users_count', 2);
    let freed = 0;
    for (const name of ['A', 'B']) {
      ex.spawn(name, function* (th): Step {
        yield 'kvm_put_kvm:users_count.dec_and_test';
        if (rc.decAndTest(th)) {
          yield 'kvm_put_kvm:kvm.free';
          th.free(kvm);
          freed++;
        }
      });
    }
    const o = ex.run();
    frees.push(freed);
    return o;
  });
  t.true(outs.length > 1);
  t.true(outs.every((o) => o.failure === null));
  t.true(frees.every((n) => n === 1));
});

test('a get racing with the last put (read, then inc) fails in some schedule', (t) => {
  const kinds = new Set<string>();
  exhaust((src) => {
    const ex = new Execution(src);
    const kvm = new Cell(ex, 'kvm', 'kvm');
    const rc = new Refcount(kvm, 'users_count', 1);
    ex.spawn('get', function* (th): Step {
      yield 'racy_get:users_count.read';
      if (rc.read(th) > 0) {
        yield 'racy_get:users_count.inc';
        rc.inc(th);
      }
    });
    ex.spawn('put', function* (th): Step {
      yield 'kvm_put_kvm:users_count.dec_and_test';
      if (rc.decAndTest(th)) {
        yield 'kvm_put_kvm:kvm.free';
        th.free(kvm);
      }
    });
    const o = ex.run();
    kinds.add(o.failure === null ? 'clean' : `${o.failure.kind} ${o.failure.site}`);
    return o;
  });
  t.true(kinds.has('clean'));
  t.true(kinds.has('REFCOUNT racy_get'), [...kinds].join(', ')); // inc after the put dropped it to 0
  t.true(kinds.has('UAF racy_get'), [...kinds].join(', ')); // inc after the free
});
