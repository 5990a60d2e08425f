import test from 'ava';
import { Execution, signatureOf, type SimThread, type Step } from '../../src/runtime';
import { Cell, exhaust, preempt, runSolo } from './helpers';

/** Every memory operation of SimThread, applied to a freed cell; `what` is how the message names it. */
const OPS: { name: string; what: string; run: (th: SimThread, c: Cell) => void }[] = [
  { name: 'load', what: 'load value', run: (th, c) => th.load(c, 'value') },
  { name: 'store', what: 'store value', run: (th, c) => th.store(c, 'value', 1) },
  { name: 'loadAt', what: 'load arr[1]', run: (th, c) => th.loadAt(c, 'arr', 1) },
  { name: 'storeAt', what: 'store arr[1]', run: (th, c) => th.storeAt(c, 'arr', 1, 5) },
  { name: 'cmpxchg', what: 'cmpxchg value', run: (th, c) => th.cmpxchg(c, 'value', 0, 1) },
  { name: 'cmpxchgAt', what: 'cmpxchg arr[2]', run: (th, c) => th.cmpxchgAt(c, 'arr', 2, 0, 1) },
  { name: 'xchg', what: 'xchg value', run: (th, c) => th.xchg(c, 'value', 3) },
  { name: 'xchgAt', what: 'xchg arr[0]', run: (th, c) => th.xchgAt(c, 'arr', 0, 3) },
  { name: 'atomicAdd', what: 'atomic_add value', run: (th, c) => th.atomicAdd(c, 'value', 1) },
  { name: 'touch', what: 'list_del', run: (th, c) => th.touch(c, 'list_del') },
  { name: 'free', what: 'free (double free)', run: (th, c) => th.free(c) },
];

/** D frees the cell at step 0; U (a second thread) then applies `op` at step 1 (serial schedule). */
function freeThenUse(op: (th: SimThread, c: Cell) => void) {
  const ex = new Execution(preempt(), { trace: true });
  const c = new Cell(ex, 'sp#1', 'kvm_mmu_page');
  ex.spawn('D', function* (th): Step {
    yield 'tdp_mmu_free_sp:sp.free';
    th.free(c);
  });
  ex.spawn('U', function* (th): Step {
    yield 'mark_unsync:sp.access';
    op(th, c);
  });
  return { o: ex.run(), c };
}

for (const op of OPS) {
  test(`${op.name} after free is UAF naming the accessing and the freeing site`, (t) => {
    const { o, c } = freeThenUse(op.run);
    const f = o.failure!;
    t.is(f.kind, 'UAF');
    t.is(f.site, 'mark_unsync');
    t.is(f.detail, 'kvm_mmu_page freed by tdp_mmu_free_sp');
    t.is(signatureOf(f), 'UAF mark_unsync: kvm_mmu_page freed by tdp_mmu_free_sp');
    t.is(f.thread, 'U');
    t.is(f.step, 1);
    t.true(f.message.includes(`U does ${op.what} on sp#1 at mark_unsync:sp.access (step 1)`), f.message);
    t.true(f.message.includes('freed at tdp_mmu_free_sp:sp.free by D (step 0)'), f.message);
    t.true(c.freed);
    t.is(c.freedBy, 'tdp_mmu_free_sp:sp.free');
    t.is(c.freedStep, 0);
    t.is(c.freedThread, 'D');
  });
}

test('the trace records the free and the UAF report', (t) => {
  const { o } = freeThenUse((th, c) => th.load(c, 'value'));
  t.is(o.trace![0]!.detail, 'free sp#1');
  t.is(o.trace![1]!.detail, 'UAF: UAF mark_unsync: kvm_mmu_page freed by tdp_mmu_free_sp');
});

test('a double free in the same thread is UAF at the second free', (t) => {
  const o = runSolo((ex) => {
    const c = new Cell(ex, 'root', 'kvm_mmu_page');
    return function* (th): Step {
      yield 'kvm_tdp_mmu_put_root:root.free';
      th.free(c);
      yield 'tdp_mmu_zap_root:root.free';
      th.free(c);
    };
  });
  t.is(o.failure?.kind, 'UAF');
  t.is(o.failure?.site, 'tdp_mmu_zap_root');
  t.is(o.failure?.detail, 'kvm_mmu_page freed by kvm_tdp_mmu_put_root');
  t.regex(o.failure!.message, /free \(double free\)/);
});

test('accessing a live object after freeing another is fine; a live object is not freed', (t) => {
  let live: Cell | null = null;
  const o = runSolo((ex) => {
    const a = new Cell(ex, 'a');
    const b = new Cell(ex, 'b');
    live = b;
    return function* (th): Step {
      yield 'f:a.free';
      th.free(a);
      yield 'f:b.store';
      th.store(b, 'value', 9);
    };
  });
  t.is(o.failure, null);
  t.false(live!.freed);
  t.is(live!.value, 9);
});

test('over every schedule, a use racing with a free is clean or a UAF, and both happen', (t) => {
  const kinds = new Set<string>();
  exhaust((src) => {
    const ex = new Execution(src);
    const c = new Cell(ex, 'slots', 'memslots');
    ex.spawn('reader', function* (th): Step {
      yield 'gfn_to_memslot:slots.load';
      th.load(c, 'value');
    });
    ex.spawn('updater', function* (th): Step {
      yield 'kvm_swap_active_memslots:slots.free';
      th.free(c);
    });
    const o = ex.run();
    kinds.add(o.failure === null ? 'clean' : signatureOf(o.failure));
    return o;
  });
  t.deepEqual([...kinds].sort(), ['UAF gfn_to_memslot: memslots freed by kvm_swap_active_memslots', 'clean']);
});

test('deref(null) is a NULL failure naming the pointer', (t) => {
  const o = runSolo(() => function* (th): Step {
    yield 'fast_page_fault:sp.spt.load';
    th.deref(null, 'sp->spt');
  });
  t.is(o.failure?.kind, 'NULL');
  t.is(o.failure?.site, 'fast_page_fault');
  t.is(o.failure?.detail, 'NULL pointer dereference of sp->spt');
  t.is(signatureOf(o.failure!), 'NULL fast_page_fault: NULL pointer dereference of sp->spt');
  t.regex(o.failure!.message, /T0 dereferences sp->spt == NULL at fast_page_fault:sp\.spt\.load/);
});

test('deref(undefined) is NULL too; deref of falsy non-null values returns them', (t) => {
  const got: unknown[] = [];
  const ok = runSolo(() => function* (th): Step {
    yield 'f:deref';
    got.push(th.deref(0, 'zero'), th.deref('', 'empty'), th.deref(false, 'no'));
  });
  t.is(ok.failure, null);
  t.deepEqual(got, [0, '', false]);
  const o = runSolo(() => function* (th): Step {
    yield 'g:deref';
    th.deref(undefined, 'vcpu->arch.mmu');
  });
  t.is(o.failure?.kind, 'NULL');
  t.is(o.failure?.detail, 'NULL pointer dereference of vcpu->arch.mmu');
});
