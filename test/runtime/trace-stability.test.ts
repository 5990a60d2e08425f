/**
 * Stability of the trace: a fixed schedule of a small program that uses an
 * rwlock, a spinlock, an SRCU section, a refcount and a load/store race,
 * rendered as swimlanes and compared with test/golden/runtime-trace.txt.
 * Any change to labels, notes, lock summaries, step order or failure
 * formatting shows up here. `UPDATE_GOLDEN=1` rewrites the golden file.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Execution, KObject, Lock, Refcount, RwLock, Srcu, type DecisionSource, type Outcome, type Step } from '../../src/runtime';
import { renderSwimlanes } from '../../src/report/swimlane';
import { preempt } from './helpers';

// Tests run from dist/test/runtime/; the golden file lives in the source tree.
const GOLDEN = path.resolve(__dirname, '../../../test/golden/runtime-trace.txt');

class Root extends KObject {
  refs: Refcount;
  constructor(ex: Execution) {
    super(ex, 'kvm_mmu_page', 'root');
    this.refs = new Refcount(this, 'tdp_mmu_root_count', 1);
  }
}

class Stat extends KObject {
  pfFixed = 0;
  constructor(ex: Execution) {
    super(ex, 'kvm_stat', 'stat');
  }
}

class PageList extends KObject {
  count = 0;
  constructor(ex: Execution) {
    super(ex, 'list_head', 'tdp_mmu_pages');
  }
}

function runProgram(src: DecisionSource): Outcome {
  const ex = new Execution(src, { trace: true });
  const srcu = new Srcu(ex, 'kvm->srcu');
  const mmu = new RwLock(ex, 'mmu_lock');
  const pagesLock = new Lock(ex, 'tdp_mmu_pages_lock', 'spinlock');
  const root = new Root(ex);
  const stat = new Stat(ex);
  const pages = new PageList(ex);
  for (const name of ['vcpu0', 'vcpu1']) {
    ex.spawn(name, function* (th): Step {
      const idx = yield* srcu.readLock(th, 'kvm_vcpu_run');
      yield* mmu.readLock(th, 'kvm_tdp_mmu_map');
      yield 'kvm_tdp_mmu_map:root.tdp_mmu_root_count.inc_not_zero';
      if (!root.refs.incNotZero(th)) return;
      // A plain (non-atomic) statistics increment under the read lock: the race.
      yield 'kvm_tdp_mmu_map:stat.pf_fixed.load';
      const v = th.load(stat, 'pfFixed');
      yield 'kvm_tdp_mmu_map:stat.pf_fixed.store';
      th.store(stat, 'pfFixed', v + 1);
      yield* pagesLock.lock(th, 'tdp_mmu_link_sp');
      yield 'tdp_mmu_link_sp:tdp_mmu_pages.list_add';
      th.atomicAdd(pages, 'count', 1);
      yield* pagesLock.unlock(th, 'tdp_mmu_link_sp');
      yield 'kvm_tdp_mmu_put_root:root.tdp_mmu_root_count.dec_and_test';
      root.refs.decAndTest(th);
      yield* mmu.readUnlock(th, 'kvm_tdp_mmu_map');
      yield* srcu.readUnlock(th, idx, 'kvm_vcpu_run');
    });
  }
  ex.spawn('ioctl', function* (th): Step {
    yield 'kvm_set_memslot:slots.prepare';
    yield* srcu.synchronize(th, 'kvm_set_memslot');
    yield* mmu.writeLock(th, 'kvm_mmu_zap_all_fast');
    th.assertHeld(mmu, 'write');
    yield 'kvm_mmu_zap_all_fast:root.tdp_mmu_root_count.read';
    root.refs.read(th);
    yield* mmu.writeUnlock(th, 'kvm_mmu_zap_all_fast');
  });
  ex.onQuiescence('pf_fixed', () => {
    if (stat.pfFixed !== 2) {
      ex.fail('INVARIANT', 'stat-pf-fixed', 'page-fault statistics lost an update',
        `stat.pf_fixed is ${stat.pfFixed} after 2 faults`);
    }
  });
  return ex.run();
}

/**
 * vcpu0 enters (srcu, mmu_lock read, root ref) — ioctl prepares and starts
 * synchronize_srcu (step 3) — vcpu0 loads pf_fixed — vcpu1 runs its whole
 * fault — vcpu0 stores its stale value (the lost update) and finishes —
 * ioctl's grace period ends and it takes mmu_lock for write.
 */
const SCHEDULE = [
  { step: 3, thread: 2 },
  { step: 4, thread: 0 },
  { step: 5, thread: 1 },
];

test('the swimlane trace of a fixed schedule matches the golden file', (t) => {
  const o = runProgram(preempt(...SCHEDULE));
  const text = `${renderSwimlanes(o)}\n`;
  if (process.env['UPDATE_GOLDEN'] === '1') {
    fs.mkdirSync(path.dirname(GOLDEN), { recursive: true });
    fs.writeFileSync(GOLDEN, text);
    t.log(`wrote ${GOLDEN}`);
    t.pass();
    return;
  }
  t.true(fs.existsSync(GOLDEN), `${GOLDEN} is missing: run the tests once with UPDATE_GOLDEN=1`);
  t.is(text, fs.readFileSync(GOLDEN, 'utf8'));
});

test('the golden schedule is what it claims: the lost update, caught at quiescence', (t) => {
  const o = runProgram(preempt(...SCHEDULE));
  t.is(o.failure?.kind, 'INVARIANT');
  t.is(o.failure?.site, 'stat-pf-fixed');
  t.is(o.failure?.step, -1);
  // The rendering is itself deterministic.
  t.is(renderSwimlanes(runProgram(preempt(...SCHEDULE))), renderSwimlanes(o));
});

test('a clean outcome ends with the step count; locks: false hides the held locks', (t) => {
  const ex = new Execution(preempt(), { trace: true });
  const l = new Lock(ex, 'kvm->lock', 'spinlock');
  ex.spawn('T', function* (th): Step {
    yield* l.lock(th, 'f');
    yield* l.unlock(th, 'f');
  });
  const o = ex.run();
  t.is(renderSwimlanes(o, { locks: false }), [
    'step │ T',
    `${'─'.repeat(5)}┼${'─'.repeat(19)}`, // 4-wide step column + 1; widest cell (18) + 1
    '   0 │ f:kvm->lock.lock',
    '   1 │ f:kvm->lock.unlock',
    '',
    'clean: 2 steps',
  ].join('\n'));
  t.true(renderSwimlanes(o).includes('f:kvm->lock.lock  [kvm->lock]'));
});
