/**
 * Every oracle of the model, fired and silenced: for each WARN / BUG / NULL
 * site, INVARIANT and lockdep assertion, one test that makes it fire (the
 * exact signature `KIND site: detail`) and one with the closest setup that
 * stays silent. Real scenarios (spawnVm + a script, from the seed
 * interleavings of kvm-mmu-model.md §3) where the spec gives one; otherwise
 * unit-style: a Kvm in an Execution, objects built by hand, one or two
 * threads calling the model function under the locks its callers hold.
 *
 * Oracles the model's own code cannot reach are said so next to their test
 * (only the silent side is tested, or the fire side needs a synthetic actor
 * that breaks a locking rule and says so).
 */
import test from 'ava';
import {
  APIC_S2C, CASE1_L2B, CASE2_L2B, MMIO_OLD_ENTRY, MMIO_TABLE, RACE_BITMAP, RACE_COUNT, RMAP_DELETE_WINDOW, RMAP_RACE1, RMAP_RACE2,
  ROOTS_TABLE, UNSYNC_PRELUDE, YIELD, apicScenario, mmioScenario, rmapScenario, rootsScenario, unsyncScenario,
} from './scenarios';
import { Execution, type Outcome, type SimThread, type Step, signatureOf } from '../../src/runtime';
import { FuzzBytesSource, ScriptedSource, type ScriptStep } from '../../src/strategies';
import { Kvm, type KvmParams } from '../../src/model/kvm';
import { LIST_POISON1, LIST_POISON2, type ListNode, listAdd } from '../../src/model/list';
import { APIC_DEFAULT_GFN, type Memslot } from '../../src/model/memslots';
import { kvm_mmu_zap_all_fast, kvm_zap_obsolete_pages } from '../../src/model/fast-zap';
import { mmu_first_shadow_root_alloc } from '../../src/model/memslot-ops';
import { vcpu_cache_mmio_info } from '../../src/model/mmio';
import { Sp } from '../../src/model/mmu-page';
import { kvm_mmu_notifier_invalidate_range_end, kvm_mmu_notifier_invalidate_range_start } from '../../src/model/mmu-notifier';
import { type PageFault, kvm_tdp_mmu_map } from '../../src/model/page-fault';
import {
  kvm_slot_page_track_add_page, mmu_free_root_page, mmu_pages_clear_parents, mmu_sync_children, mmu_try_to_unsync_pages, rmap_add,
} from '../../src/model/shadow-mmu';
import { entrySpan, isPresent, makeLeaf, makeNonLeaf, pfnOf, ptIndex, writeProtected } from '../../src/model/spte';
import { configOf } from '../../src/model/switches';
import {
  StackListHead, TDP_ROOT_LEVEL, handle_changed_spte, handle_removed_tdp_mmu_page, kvm_tdp_mmu_get_vcpu_root_hpa,
  kvm_tdp_mmu_invalidate_all_roots, kvm_tdp_mmu_put_root, kvm_tdp_mmu_zap_invalidated_roots, tdp_mmu_next_root, zap_gfn_range,
} from '../../src/model/tdp-mmu';
import { registerOracles } from '../../src/model/vm';
import { type Scenario, runScript, runWith } from './helpers';

// ===========================================================================
// Unit-style harness

interface UnitOpts {
  off?: string[];
  variants?: string[];
  params?: Partial<KvmParams>;
  /** Register the quiescence oracles of vm.ts (registerOracles). */
  oracles?: boolean;
  /** A strict schedule script (default: the serial FuzzBytesSource schedule). */
  script?: ScriptStep[];
  /** Model choices by label (with a script, or alone: a serial script). */
  choices?: Record<string, number>;
  trace?: boolean;
  fatalInvariants?: boolean;
}

interface Result {
  outcome: Outcome;
  sig: string;
}

/** A Kvm in an Execution, with an RCU actor; threads are added with `spawn`. */
class Unit {
  readonly ex: Execution;
  readonly kvm: Kvm;

  constructor(o: UnitOpts = {}) {
    const scripted = o.script !== undefined || o.choices !== undefined;
    const source = scripted ? new ScriptedSource(o.script ?? [], true, o.choices ?? {}) : new FuzzBytesSource();
    this.ex = new Execution(source, { trace: o.trace ?? false, maxSteps: 20_000, fatalInvariants: o.fatalInvariants ?? true });
    if (source instanceof ScriptedSource) source.attach(() => this.ex.threads);
    this.kvm = new Kvm(this.ex, configOf(o.off ?? [], o.variants ?? []), o.params ?? {});
    if (o.oracles === true) registerOracles(this.ex, this.kvm);
  }

  spawn(name: string, body: (t: SimThread) => Step): this {
    this.ex.spawn(name, body);
    return this;
  }

  run(): Result {
    this.kvm.rcu.spawnActor('rcu');
    const outcome = this.ex.run();
    return { outcome, sig: outcome.failure === null ? 'clean' : signatureOf(outcome.failure) };
  }
}

/** `list_add` done at set-up time (no thread, no step). */
function linkAtHead(head: ListNode, node: ListNode): void {
  node.next = head.next;
  node.prev = head;
  head.next!.prev = node;
  head.next = node;
}

/** A TDP MMU root (count = its references), optionally on tdp_mmu_roots. */
function tdpRoot(kvm: Kvm, name: string, o: { count?: number; invalid?: boolean; onList?: boolean; tdp?: boolean } = {}): Sp {
  const r = new Sp(kvm.ex, TDP_ROOT_LEVEL, true, 0, o.tdp ?? true, kvm.allocPfn(), kvm.mmu_valid_gen, name);
  r.isRoot = true;
  kvm.frames.set(r.pfn, r);
  r.tdp_mmu_root_count.value = o.count ?? 1;
  r.role_invalid = o.invalid ?? false;
  if (o.onList === true) linkAtHead(kvm.tdp_mmu_roots, r.link);
  return r;
}

/** Page tables under `root` down to 4K for `gfn` (each linked on tdp_mmu_pages), then `leaf` at level 1. */
function tdpMap(kvm: Kvm, root: Sp, gfn: number, leaf: number): Sp {
  let sp = root;
  for (let level = TDP_ROOT_LEVEL; level > 1; level--) {
    const idx = ptIndex(gfn, level);
    const e = sp.spt[idx]!;
    const found = isPresent(e) ? kvm.frame(pfnOf(e)) : undefined;
    if (found instanceof Sp) {
      sp = found;
      continue;
    }
    const base = Math.floor(gfn / entrySpan(level)) * entrySpan(level);
    const child = new Sp(kvm.ex, level - 1, true, base, true, kvm.allocPfn(), kvm.mmu_valid_gen, `sp#${++kvm.spSeq}`);
    kvm.frames.set(child.pfn, child);
    linkAtHead(kvm.tdp_mmu_pages, child.link);
    sp.spt[idx] = makeNonLeaf(child.pfn);
    sp = child;
  }
  sp.spt[ptIndex(gfn, 1)] = leaf;
  return sp;
}

/** An indirect (shadow) SP in the page hash and active_mmu_pages. */
function shadowSp(kvm: Kvm, level: number, gfn: number, name: string): Sp {
  const sp = new Sp(kvm.ex, level, false, gfn, false, kvm.allocPfn(), kvm.mmu_valid_gen, name);
  kvm.frames.set(sp.pfn, sp);
  kvm.mmu_page_hash.set(gfn, [...(kvm.mmu_page_hash.get(gfn) ?? []), sp]);
  kvm.active_mmu_pages.push(sp);
  return sp;
}

/** link_shadow_page at set-up time: parent[idx] -> child, with the parent pointer. */
function linkShadow(parent: Sp, idx: number, child: Sp): void {
  parent.spt[idx] = makeNonLeaf(child.pfn);
  child.parent_ptes.push({ sp: parent, idx });
}

/** mark_unsync's effect on `sp` for bit `idx` (bit set, count + 1). */
function markBit(sp: Sp, idx: number): void {
  sp.unsync_child_bitmap[idx >> 6] = sp.unsync_child_bitmap[idx >> 6]! | (1n << BigInt(idx % 64));
  sp.unsync_children++;
}

function slotOf(kvm: Kvm, gfn: number): Memslot {
  return kvm.memslots.find(gfn)!;
}

/** A TDP fault's `struct kvm_page_fault` for `gfn` (RAM in slot 0), with its page. */
function ramFault(kvm: Kvm, gfn: number): PageFault {
  const slot = slotOf(kvm, gfn);
  const hva = slot.hvaOf(gfn);
  const page = kvm.newPage(hva);
  kvm.mm.set(hva, page);
  return { gfn, write: false, slot, slotsGen: kvm.memslots.generation, hva, page, noslot: false, map_writable: true };
}

// ===========================================================================
// Real scenarios of the seeds (kvm-mmu-model.md §3 (c)), as in the seed tests

// (The scenarios and scripts are in ./scenarios.)

/** Both vCPUs load stat.mmu_unsync before either stores it (a lost statistic increment). */
const RACE_STAT: ScriptStep[] = [
  ...UNSYNC_PRELUDE,
  { thread: 'vcpu0', until: 'kvm_unsync_page:stat.mmu_unsync.store' },
  { thread: 'vcpu1', until: 'kvm_unsync_page:stat.mmu_unsync.store' },
  { thread: 'vcpu0', until: null },
  { thread: 'vcpu1', until: null },
];

// ===========================================================================
// shadow-mmu.ts

test('WARN clear_unsync_child_bit underflow fires: seed 000 Case 1, switch off (lost unsync_children increment)', (t) => {
  const r = runScript(unsyncScenario(CASE1_L2B, true), [...RACE_COUNT, { thread: 'vcpu2', until: null }]);
  t.is(r.sig, 'WARN clear_unsync_child_bit: unsync_children underflow');
});

test('WARN clear_unsync_child_bit underflow silent: the same schedule, switch on', (t) => {
  t.is(runScript(unsyncScenario(CASE1_L2B, false), [...RACE_COUNT, { thread: 'vcpu2', until: null }], false).sig, 'clean');
});

/** mmu_try_to_unsync_pages from a TDP MMU fault (read lock) on a gfn shadowed by one indirect SP of `level`. */
function unsyncUnit(level: number): Result & { sp: Sp; kvm: Kvm } {
  const u = new Unit({ oracles: true });
  const sp = shadowSp(u.kvm, level, 5, 'S');
  const slot = slotOf(u.kvm, 5);
  u.spawn('vcpu0', function* (t) {
    yield* u.kvm.mmu_lock.readLock(t, 'direct_page_fault');
    yield* mmu_try_to_unsync_pages(t, u.kvm, slot, 5, true, false);
    yield* u.kvm.mmu_lock.readUnlock(t, 'direct_page_fault');
  });
  return { ...u.run(), sp, kvm: u.kvm };
}

// Unit-style: the model write-tracks every non-4K indirect SP when it creates
// it (kvm_mmu_get_page), so mmu_try_to_unsync_pages returns at T1 for them.
test('WARN mmu_try_to_unsync_pages non-4K fires: a level-2 indirect SP that is not write-tracked', (t) => {
  t.is(unsyncUnit(2).sig, 'WARN mmu_try_to_unsync_pages: unsync of a non-4K shadow page');
});

test('WARN mmu_try_to_unsync_pages non-4K silent: the same SP at level 1 goes unsync', (t) => {
  const r = unsyncUnit(1);
  t.is(r.sig, 'clean');
  t.true(r.sp.unsync);
  t.is(r.kvm.stat_mmu_unsync, 1);
});

/**
 * A nested shadow tree R(3)[0] -> P(2), P[3] -> S(1), P[4] -> S2(1) (S2
 * unsync), each parent marked for its child; mmu_sync_children(R) under the
 * write lock. `sUnsync`: S is unsync too (the normal state); otherwise S is
 * not unsync but has a stale child mark (unsync_children 1, bit 0 over an
 * empty entry), so the walk still collects it.
 */
function syncUnit(sUnsync: boolean): Result & { R: Sp; P: Sp; S: Sp; kvm: Kvm } {
  const u = new Unit({ oracles: true });
  const kvm = u.kvm;
  const R = shadowSp(kvm, 3, 8, 'R');
  R.isRoot = true;
  const P = shadowSp(kvm, 2, 9, 'P');
  const S = shadowSp(kvm, 1, 10, 'S');
  const S2 = shadowSp(kvm, 1, 11, 'S2');
  linkShadow(R, 0, P);
  linkShadow(P, 3, S);
  linkShadow(P, 4, S2);
  markBit(R, 0);
  markBit(P, 3);
  markBit(P, 4);
  S2.unsync = true;
  kvm.stat_mmu_unsync = 1;
  if (sUnsync) {
    S.unsync = true;
    kvm.stat_mmu_unsync = 2;
  } else {
    markBit(S, 0);
  }
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_sync_roots');
    yield* mmu_sync_children(t, kvm, kvm.vcpus[0]!, R, true);
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_sync_roots');
  });
  return { ...u.run(), R, P, S, kvm };
}

// Unit-style: under the write lock nothing can clear `unsync` between the walk
// and kvm_unlink_unsync_page, and the walk collects a 4K page only when it is
// unsync, or (corrupt state) when it has unsync children of its own.
test('WARN kvm_unlink_unsync_page not unsync fires: the walk collects a 4K SP that has a stale child mark', (t) => {
  const r = syncUnit(false);
  t.is(r.sig, 'WARN kvm_unlink_unsync_page: unlinking a page that is not unsync');
  t.is(r.outcome.failure!.message, 'S');
});

test('WARN kvm_unlink_unsync_page not unsync silent: the 4K SP is unsync; the sync clears every mark', (t) => {
  const r = syncUnit(true);
  t.is(r.sig, 'clean');
  t.false(r.S.unsync);
  t.is(r.P.unsync_children, 0);
  t.is(r.R.unsync_children, 0);
  t.is(r.kvm.stat_mmu_unsync, 0);
});

/**
 * mmu_sync_children on an SP X of `level` whose entry 0 links an unsync 4K
 * SP C (marked). At level 1 this is a 4K page with a page-table entry: the
 * walk still collects C (it follows any present non-leaf entry).
 */
function syncRootUnit(level: number): Result {
  const u = new Unit({ oracles: true });
  const kvm = u.kvm;
  const X = shadowSp(kvm, level, 9, 'X');
  X.isRoot = true;
  const C = shadowSp(kvm, 1, 10, 'C');
  linkShadow(X, 0, C);
  markBit(X, 0);
  C.unsync = true;
  kvm.stat_mmu_unsync = 1;
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_sync_roots');
    yield* mmu_sync_children(t, kvm, kvm.vcpus[0]!, X, true);
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_sync_roots');
  });
  return u.run();
}

test('WARN mmu_pages_first walk root is a 4K page fires: mmu_sync_children from a 4K SP that links an unsync child', (t) => {
  const r = syncRootUnit(1);
  t.is(r.sig, 'WARN mmu_pages_first: walk root is a 4K page');
  t.is(r.outcome.failure!.message, 'X');
});

test('WARN mmu_pages_first walk root is a 4K page silent: the same walk from a level-2 SP', (t) => {
  t.is(syncRootUnit(2).sig, 'clean');
});

// UNREACHABLE: `WARN mmu_pages_first: first entry is not the walk root`.
// mmu_unsync_walk empties the vector and adds the walk root with
// INVALID_INDEX before anything else, and the vector is local to
// mmu_sync_children: pvec[0].idx is INVALID_INDEX on every path. Silent case:
// a sync that collects several pages (the walk root comes first).
test('WARN mmu_pages_first first entry is not the walk root (unreachable): silent on a full sync', (t) => {
  const r = syncUnit(true);
  t.is(r.sig, 'clean');
  t.false(r.outcome.warnings.some((w) => w.site === 'mmu_pages_first'));
});

/** mmu_pages_clear_parents on a path of one parent P (bit 3 marked) with index `idx`. */
function clearParentsUnit(idx: number): Result & { P: Sp } {
  const u = new Unit();
  const kvm = u.kvm;
  const P = shadowSp(kvm, 2, 9, 'P');
  P.isRoot = true;
  markBit(P, 3);
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'mmu_sync_children');
    yield* mmu_pages_clear_parents(t, kvm, { parent: [P, null, null, null, null], idx: [idx, 0, 0, 0, 0] });
    yield* kvm.mmu_lock.writeUnlock(t, 'mmu_sync_children');
  });
  return { ...u.run(), P };
}

// Unreachable through mmu_sync_children (the path's indexes come from
// pvec entries after the first, which are bitmap indexes >= 0); fired here
// by calling mmu_pages_clear_parents (exported for this test) directly.
test('WARN mmu_pages_clear_parents invalid index fires: a page path holding INVALID_INDEX (direct call)', (t) => {
  t.is(clearParentsUnit(-1).sig, 'WARN mmu_pages_clear_parents: invalid index in the page path');
});

test('WARN mmu_pages_clear_parents invalid index silent: the same path with the child\'s index', (t) => {
  const r = clearParentsUnit(3);
  t.is(r.sig, 'clean');
  t.is(r.P.unsync_children, 0);
});

/**
 * A vCPU under mmu_lock held for write marks a 4K SP unsync; with `rogue`, a
 * thread holds mmu_unsync_pages_lock without mmu_lock at that moment.
 */
function contendedUnit(rogue: boolean): Result & { S: Sp } {
  const script: ScriptStep[] = rogue
    ? [{ thread: 'rogue', until: 'rogue:holds' }, { thread: 'vcpu0', until: null }, { thread: 'rogue', until: null }]
    : [{ thread: 'vcpu0', until: null }];
  const u = new Unit({ script });
  const kvm = u.kvm;
  const S = shadowSp(kvm, 1, 5, 'S');
  if (rogue) {
    u.spawn('rogue', function* (t) {
      yield* kvm.mmu_unsync_pages_lock.lock(t, 'rogue');
      yield 'rogue:holds';
      yield* kvm.mmu_unsync_pages_lock.unlock(t, 'rogue');
    });
  }
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'FNAME(page_fault)');
    yield* mmu_try_to_unsync_pages(t, kvm, slotOf(kvm, 5), 5, true, false);
    yield* kvm.mmu_lock.writeUnlock(t, 'FNAME(page_fault)');
  });
  return { ...u.run(), S };
}

// Unreachable: every taker of mmu_unsync_pages_lock must hold mmu_lock (read or
// write) — lockdep reports one that does not — so under the write lock the
// spinlock is always free. The rogue thread that would contend it is stopped
// by that lockdep check first.
test('LOCKDEP mmu_unsync_pages_lock taken without mmu_lock fires: the rogue holder (so the contention invariant cannot)', (t) => {
  t.is(contendedUnit(true).sig, 'LOCKDEP rogue: mmu_unsync_pages_lock taken without mmu_lock');
});

test('LOCKDEP tdp_mmu_pages_lock taken without mmu_lock fires; silent under the read lock', (t) => {
  t.is(pagesLockUnit(false).sig, 'LOCKDEP tdp_mmu_link_page: tdp_mmu_pages_lock taken without mmu_lock');
  t.is(pagesLockUnit(true).sig, 'clean');
});

function pagesLockUnit(withMmuLock: boolean): Result {
  const u = new Unit();
  const kvm = u.kvm;
  u.spawn('vcpu0', function* (t) {
    if (withMmuLock) yield* kvm.mmu_lock.readLock(t, 'kvm_tdp_mmu_map');
    yield* kvm.tdp_mmu_pages_lock.lock(t, 'tdp_mmu_link_page');
    yield* kvm.tdp_mmu_pages_lock.unlock(t, 'tdp_mmu_link_page');
    if (withMmuLock) yield* kvm.mmu_lock.readUnlock(t, 'kvm_tdp_mmu_map');
  });
  return u.run();
}

test('INVARIANT unsync-lock-contended-under-write silent: nobody else holds the spinlock', (t) => {
  const r = contendedUnit(false);
  t.is(r.sig, 'clean');
  t.true(r.S.unsync, 'the SP was marked unsync under the write lock');
});

test('INVARIANT missed-sync fires: seed 000 Case 2, switch off (lost bitmap bit)', (t) => {
  const r = runScript(unsyncScenario(CASE2_L2B, true), [...RACE_BITMAP, { thread: 'vcpu2', until: null }]);
  t.is(r.sig, 'INVARIANT missed-sync: guest page-table write not synced after its TLB flush');
});

test('INVARIANT missed-sync silent: the same schedule, switch on', (t) => {
  t.is(runScript(unsyncScenario(CASE2_L2B, false), [...RACE_BITMAP, { thread: 'vcpu2', until: null }], false).sig, 'clean');
});

test('INVARIANT unsync-count fires at quiescence: seed 000 Case 1, switch off, no sync afterwards', (t) => {
  const r = runScript(unsyncScenario(CASE1_L2B, true, [], true), RACE_COUNT);
  t.is(r.sig, 'INVARIANT unsync-count: unsync_children differs from its bitmap');
  t.is(r.outcome.failure!.step, -1);
});

test('INVARIANT unsync-count silent: the same schedule, switch on', (t) => {
  t.is(runScript(unsyncScenario(CASE1_L2B, false, [], true), RACE_COUNT, false).sig, 'clean');
});

/** Quiescence only: S (4K, unsync) under root P[3]; `marked`: P has S's bit (and count). */
function reachUnit(marked: boolean): Result {
  const u = new Unit({ oracles: true });
  const kvm = u.kvm;
  const P = shadowSp(kvm, 2, 9, 'P');
  P.isRoot = true;
  const S = shadowSp(kvm, 1, 10, 'S');
  linkShadow(P, 3, S);
  S.unsync = true;
  kvm.stat_mmu_unsync = 1;
  if (marked) markBit(P, 3);
  return u.run();
}

test('INVARIANT unsync-unreachable fires at quiescence: an unsync SP whose parent bit is clear', (t) => {
  const r = reachUnit(false);
  t.is(r.sig, 'INVARIANT unsync-unreachable: unsync SP unreachable from the sync walk');
  t.is(r.outcome.failure!.step, -1);
});

test('INVARIANT unsync-unreachable silent: the parent bit is set', (t) => {
  t.is(reachUnit(true).sig, 'clean');
});

test('INVARIANT unsync-stat fires at quiescence: seed 000, switch off, both vCPUs load stat.mmu_unsync before storing it', (t) => {
  const r = runScript(unsyncScenario(CASE1_L2B, true, [], true), RACE_STAT);
  t.is(r.sig, 'INVARIANT unsync-stat: stat.mmu_unsync differs from the unsync SPs');
  t.regex(r.outcome.failure!.message, /stat\.mmu_unsync = 1 but 2 SPs are unsync/);
});

test('INVARIANT unsync-stat silent: the same schedule, switch on', (t) => {
  const r = runScript(unsyncScenario(CASE1_L2B, false, [], true), RACE_STAT, false);
  t.is(r.sig, 'clean');
  t.is(r.kvm.stat_mmu_unsync, 2);
});

test('NULL gfn_to_rmap slot->arch.rmap[0] fires: seed 004 Race 1, v1 design with the assignment outside the lock', (t) => {
  const r = runScript(rmapScenario(true, ['slots-arch-lock:v1-assign-outside-lock'], 20), RMAP_RACE1, true, false, false);
  t.is(r.sig, 'NULL __rmap_write_protect: NULL pointer dereference of slot->arch.rmap[0]');
  t.is(signatureOf(r.outcome.warnings[0]!), 'INVARIANT rmap-publication: memslot published without rmaps after rmaps were enabled');
});

test('NULL gfn_to_rmap slot->arch.rmap[0] silent: the same schedule, v1 design (assignment inside the lock)', (t) => {
  t.is(runScript(rmapScenario(true, [], 20), RMAP_RACE1, false, false, false).sig, 'clean');
});

/** kvm_slot_page_track_add_page on slot 0 (write lock); rmaps and write tracking allocated iff `allocated`. */
function trackUnit(allocated: boolean): Result {
  const u = new Unit({ params: { shadowRootAllocated: allocated } });
  const kvm = u.kvm;
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_get_page');
    yield* kvm_slot_page_track_add_page(t, kvm, slotOf(kvm, 9), 9);
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_get_page');
  });
  return u.run();
}

// Unit-style: the nested fault always runs mmu_first_shadow_root_alloc (which
// allocates write tracking for every published slot) before kvm_mmu_get_page.
test('NULL kvm_slot_page_track_add_page slot->arch.gfn_track fires: write tracking not allocated (lazy, before the first shadow root)', (t) => {
  t.is(trackUnit(false).sig, 'NULL update_gfn_track: NULL pointer dereference of slot->arch.gfn_track[KVM_PAGE_TRACK_WRITE]');
});

test('NULL kvm_slot_page_track_add_page slot->arch.gfn_track silent: shadow root already allocated', (t) => {
  t.is(trackUnit(true).sig, 'clean');
});

/**
 * A shadow root R (level 4, gfn 9, write-tracked) used by vcpu0 goes
 * obsolete and is fast-zapped while in use; a new root R2 for the same gfn
 * is made; then vcpu0 puts R. `invalidOnList`: R is also left marked invalid
 * on active_mmu_pages by hand, as the model did before it took zapped roots
 * off the list.
 */
function zappedRootUnit(invalidOnList: boolean): Result & { kvm: Kvm; R: Sp; R2: Sp | null } {
  const u = new Unit();
  const kvm = u.kvm;
  const R = shadowSp(kvm, 4, 9, 'R');
  R.isRoot = true;
  R.root_count = 1;
  kvm.vcpus[0]!.guest_root_hpa = R;
  kvm.write_tracked.set(9, 1);
  if (invalidOnList) R.role_invalid = true;
  let R2: Sp | null = null;
  u.spawn('zap', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_zap_all_fast');
    kvm.mmu_valid_gen++;
    yield* kvm_zap_obsolete_pages(t, kvm);
    // kvm_mmu_get_page for the same gfn: a fresh root, accounted again.
    R2 = shadowSp(kvm, 4, 9, 'R2');
    R2.root_count = 1;
    kvm.write_tracked.set(9, (kvm.write_tracked.get(9) ?? 0) + 1);
    yield* mmu_free_root_page(t, kvm, kvm.vcpus[0]!);
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_zap_all_fast');
  });
  return { ...u.run(), kvm, R, R2 };
}

test('WARN kvm_zap_obsolete_pages invalid SP on active_mmu_pages fires: an invalid root left on the list by hand', (t) => {
  t.is(zappedRootUnit(true).sig, 'WARN kvm_zap_obsolete_pages: invalid SP on active_mmu_pages');
});

test('WARN kvm_zap_obsolete_pages silent: a root zapped in use leaves the list, is unaccounted once and freed by its last put', (t) => {
  const r = zappedRootUnit(false);
  t.is(r.sig, 'clean');
  t.true(r.R.freed, 'mmu_free_root_page zapped and freed the invalid root');
  t.is(r.kvm.vcpus[0]!.guest_root_hpa, null);
  t.deepEqual(r.kvm.active_mmu_pages.map((sp) => sp.name), ['R2']);
  t.is(r.kvm.write_tracked.get(9), 1, "R2's write tracking survives R's second zap");
});

// ===========================================================================
// tdp-mmu.ts

test('WARN kvm_tdp_mmu_get_root invalid root fires: seed 003, claim variant no-restart', (t) => {
  t.is(runScript(rootsScenario(false, ['roots-off-list:no-restart']), ROOTS_TABLE, true, false, true, YIELD).sig,
    'WARN kvm_tdp_mmu_get_root: reference on an invalid root');
});

test('WARN kvm_tdp_mmu_get_root invalid root silent: the same schedule with the restart (switch on)', (t) => {
  t.is(runScript(rootsScenario(false), ROOTS_TABLE, true, false, true, YIELD).sig, 'clean');
});

/**
 * kvm_tdp_mmu_invalidate_all_roots (switch on) on one valid root R, under the
 * write lock; with `rogue`, a synthetic thread stores R.role.invalid without
 * mmu_lock between kvm_tdp_mmu_get_root and the re-check.
 */
function invalidateUnit(rogue: boolean): Result & { R: Sp } {
  const script: ScriptStep[] = rogue
    ? [{ thread: 'ioctl', until: 'kvm_tdp_mmu_invalidate_all_roots:root.role.invalid.load' }, { thread: 'rogue', until: null }, { thread: 'ioctl', until: null }]
    : [{ thread: 'ioctl', until: null }];
  const u = new Unit({ script });
  const kvm = u.kvm;
  const R = tdpRoot(kvm, 'R', { onList: true });
  u.spawn('ioctl', function* (t) {
    const local = new StackListHead(kvm);
    yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_zap_all_fast');
    yield* kvm_tdp_mmu_invalidate_all_roots(t, kvm, local);
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_zap_all_fast');
  });
  if (rogue) {
    u.spawn('rogue', function* (t) {
      yield 'rogue:root.role.invalid.store';
      t.store(R, 'role_invalid', true);
    });
  }
  return { ...u.run(), R };
}

// UNREACHABLE by the model's actors: role.invalid is written only under
// mmu_lock held for write, and kvm_tdp_mmu_get_root (same thread, same write
// lock, just before) already refuses an invalid root with its own WARN. Two
// overlapping fast zaps, the kernel's way to get here, are excluded by
// slots_lock (seed003-roots.test.ts explores it). Fired only by a synthetic
// lockless writer.
test('WARN kvm_tdp_mmu_invalidate_all_roots already invalid fires: a synthetic lockless invalidation between get_root and the re-check', (t) => {
  const r = invalidateUnit(true);
  t.is(r.sig, 'WARN kvm_tdp_mmu_invalidate_all_roots: root already invalid');
  t.is(r.outcome.failure!.thread, 'ioctl');
});

test('WARN kvm_tdp_mmu_invalidate_all_roots already invalid silent: no other writer; the root is moved off the list and invalidated', (t) => {
  const r = invalidateUnit(false);
  t.is(r.sig, 'clean');
  t.true(r.R.role_invalid);
  t.is(r.R.tdp_mmu_root_count.value, 2);
});

/** The last kvm_tdp_mmu_put_root of an invalid root (switch on), write lock; `mapped`: it still maps gfn 1. */
function putInvalidUnit(mapped: boolean, tdp = true): Result & { R: Sp } {
  const u = new Unit();
  const kvm = u.kvm;
  const R = tdpRoot(kvm, 'R', { invalid: true, tdp });
  if (mapped) tdpMap(kvm, R, 1, makeLeaf(kvm.allocPfn(), true));
  u.spawn('ioctl', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_free_roots');
    yield* kvm_tdp_mmu_put_root(t, kvm, R, false);
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_free_roots');
  });
  return { ...u.run(), R };
}

// Unit-style: in the model a fault checks the root's validity and installs
// its SPTE under one read-lock section, and invalidation takes the write lock,
// so no SPTE appears under an invalid root after its zap (the
// spte-under-invalid-root invariant would fire first anyway).
test('WARN kvm_tdp_mmu_put_root flush for invalid root fires: an invalid root that still maps a page at its last put', (t) => {
  t.is(putInvalidUnit(true).sig, 'WARN kvm_tdp_mmu_put_root: flush needed for an invalid root');
});

test('WARN kvm_tdp_mmu_put_root flush for invalid root silent: the invalid root is empty; it is freed after a grace period', (t) => {
  const r = putInvalidUnit(false);
  t.is(r.sig, 'clean');
  t.true(r.R.freed);
});

test('WARN kvm_tdp_mmu_put_root non-TDP root fires: the last put of a shadow-MMU page', (t) => {
  t.is(putInvalidUnit(false, false).sig, 'WARN kvm_tdp_mmu_put_root: put of a non-TDP-MMU root');
});

test('WARN kvm_tdp_mmu_put_root non-TDP root silent: the same put of a TDP MMU root', (t) => {
  t.is(putInvalidUnit(false, true).sig, 'clean');
});

// UNREACHABLE: `WARN tdp_mmu_iter_cond_resched: iterator ran ahead of
// next_last_level_gfn`. The iterator only moves through scanSide, which sets
// next_last_level_gfn = max(next_last_level_gfn, gfn) whenever it positions
// on an entry; stepping up or side-ways only lowers iter.gfn to a table base.
// So iter.gfn <= next_last_level_gfn at every yield point. Silent case: a
// partial-range zap that yields mmu_lock at every opportunity.
test('WARN tdp_mmu_iter_cond_resched ran ahead (unreachable): silent on a zap that yields at every opportunity', (t) => {
  const u = new Unit({ choices: YIELD, trace: true });
  const kvm = u.kvm;
  const R = tdpRoot(kvm, 'R', { onList: true });
  for (const gfn of [1, 2, 3, 600]) tdpMap(kvm, R, gfn, makeLeaf(kvm.allocPfn(), true));
  u.spawn('mm', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'kvm_unmap_gfn_range');
    // A range that starts and ends inside the 4K tables: the walk descends to each leaf.
    yield* zap_gfn_range(t, kvm, R, 1, 601, true, false, false);
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_unmap_gfn_range');
  });
  const r = u.run();
  t.is(r.sig, 'clean');
  t.true(r.outcome.trace!.filter((e) => e.label === 'tdp_iter_restart:root.spt.load').length >= 3);
  for (const gfn of [1, 2, 3, 600]) {
    let sp: Sp = R;
    let e = 0;
    for (let level = TDP_ROOT_LEVEL; level >= 1; level--) {
      e = sp.spt[ptIndex(gfn, level)]!;
      if (level === 1 || !isPresent(e)) break;
      sp = kvm.frame(pfnOf(e)) as Sp;
    }
    t.false(isPresent(e), `gfn ${gfn} zapped`);
  }
});

/**
 * Seed 003 with no-restart: the MMU notifier (mm) yields mmu_lock inside R1,
 * the fast zap moves both roots onto its on-stack list and drops the write
 * lock; before the fast zap takes the read lock (its frame is still live),
 * mm resumes and looks for R1's successor.
 */
const NEXT_ROOT_HEAD: ScriptStep[] = [
  { thread: 'vcpu0', until: null },
  { thread: 'vcpu1', until: null },
  { thread: 'mm', until: 'tdp_mmu_iter_cond_resched:mmu_lock.write_lock' },
  { thread: 'ioctl', until: 'kvm_mmu_zap_all_fast:mmu_lock.read_lock' },
  { thread: 'mm', until: null },
  { thread: 'ioctl', until: null },
];

test('BUG tdp_mmu_next_root list head treated as a root fires: seed 003 no-restart, R1\'s successor is the live on-stack list head', (t) => {
  const r = runScript(rootsScenario(false, ['roots-off-list:no-restart']), NEXT_ROOT_HEAD, true, false, true, YIELD);
  t.is(r.sig, 'BUG tdp_mmu_next_root: list head treated as a root');
  t.regex(r.outcome.failure!.message, /invalidated_roots/);
});

test('BUG tdp_mmu_next_root list head treated as a root silent: the same schedule with the restart (switch on)', (t) => {
  t.is(runScript(rootsScenario(false), NEXT_ROOT_HEAD, true, false, true, YIELD).sig, 'clean');
});

/** __handle_changed_spte for a present 4K leaf going from pfn A to `now` (write lock). */
function changedUnit(sameFrame: boolean): Result {
  const u = new Unit();
  const kvm = u.kvm;
  const a = kvm.allocPfn();
  const b = kvm.allocPfn();
  const old = makeLeaf(a, true, true, false);
  const now = sameFrame ? writeProtected(old) : makeLeaf(b, true, true, false);
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'tdp_mmu_set_spte');
    yield* handle_changed_spte(t, kvm, old, now, 1, 1, false);
    yield* kvm.mmu_lock.writeUnlock(t, 'tdp_mmu_set_spte');
  });
  return u.run();
}

// Unit-style: every path that replaces a present leaf in the model keeps its
// pfn (write protection) or goes through a non-present value first.
test('BUG __handle_changed_spte pfn change fires: a present leaf replaced by a leaf for another pfn', (t) => {
  t.is(changedUnit(false).sig, 'BUG __handle_changed_spte: present leaf SPTE changed pfn');
});

test('BUG __handle_changed_spte pfn change silent: the same leaf write-protected (same pfn)', (t) => {
  t.is(changedUnit(true).sig, 'clean');
});

// ===========================================================================
// page-fault.ts

/** kvm_tdp_mmu_map for gfn 1 under the read lock into vcpu0's root `R` (`invalid`), with the given root entry. */
function mapUnit(o: { invalid?: boolean; rootEntry?: 'bogus' | 'table' }): Result & { R: Sp } {
  const u = new Unit();
  const kvm = u.kvm;
  const R = tdpRoot(kvm, 'R', { invalid: o.invalid ?? false, onList: true });
  kvm.vcpus[0]!.root_hpa = R;
  if (o.rootEntry === 'bogus') {
    // A non-leaf SPTE whose pfn is a guest page, not a page table.
    R.spt[ptIndex(1, TDP_ROOT_LEVEL)] = makeNonLeaf(kvm.newPage(0x5000).pfn);
  } else if (o.rootEntry === 'table') {
    const L3 = new Sp(kvm.ex, 3, true, 0, true, kvm.allocPfn(), 0, 'L3');
    kvm.frames.set(L3.pfn, L3);
    linkAtHead(kvm.tdp_mmu_pages, L3.link);
    R.spt[ptIndex(1, TDP_ROOT_LEVEL)] = makeNonLeaf(L3.pfn);
  }
  const fault = ramFault(kvm, 1);
  let res = '';
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.readLock(t, 'direct_page_fault');
    res = yield* kvm_tdp_mmu_map(t, kvm, kvm.vcpus[0]!, fault);
    yield* kvm.mmu_lock.readUnlock(t, 'direct_page_fault');
    yield 'test:result';
    t.note(res);
  });
  const r = u.run();
  return { ...r, sig: r.sig === 'clean' ? `clean ${res}` : r.sig, R };
}

// Unit-style: kvm_tdp_page_fault's is_page_fault_stale rejects an invalid
// root under the same read-lock section in which kvm_tdp_mmu_map installs.
test('INVARIANT spte-under-invalid-root fires: kvm_tdp_mmu_map into an invalid root', (t) => {
  t.is(mapUnit({ invalid: true }).sig, 'INVARIANT spte-under-invalid-root: new SPTE installed under an invalid root');
});

test('INVARIANT spte-under-invalid-root silent: the same map into a valid root', (t) => {
  t.is(mapUnit({}).sig, 'clean RET_PF_FIXED');
});

// Unit-style: every non-leaf SPTE the model installs points to an SP's frame.
test('BUG kvm_tdp_mmu_map non-leaf without page table fires: a non-leaf SPTE pointing to a guest page', (t) => {
  t.is(mapUnit({ rootEntry: 'bogus' }).sig, 'BUG kvm_tdp_mmu_map: non-leaf SPTE does not point to a page table');
});

test('BUG kvm_tdp_mmu_map non-leaf without page table silent: the non-leaf SPTE points to a page table', (t) => {
  t.is(mapUnit({ rootEntry: 'table' }).sig, 'clean RET_PF_FIXED');
});

// ===========================================================================
// mmio.ts

test('INVARIANT stale-mmio fires: seed 002 table, switch off', (t) => {
  t.is(runScript(mmioScenario(true), MMIO_TABLE).sig, 'INVARIANT stale-mmio: gfn has a memslot but hit the MMIO cache');
});

test('INVARIANT stale-mmio silent: seed 002 table, switch on', (t) => {
  t.is(runScript(mmioScenario(false), MMIO_TABLE).sig, 'clean');
});

test('INVARIANT stale-mmio-old-entry fires: seed 002 claim variant single-advance, an old MMIO SPTE hit during the update', (t) => {
  t.is(runScript(mmioScenario(false, ['mmio-gen-after-srcu:single-advance']), MMIO_OLD_ENTRY, false).sig,
    'INVARIANT stale-mmio-old-entry: MMIO entry older than the memslot update still matches during it');
});

test('INVARIANT stale-mmio-old-entry silent: the same schedule with the advance at publication (switch on)', (t) => {
  t.is(runScript(mmioScenario(false), MMIO_OLD_ENTRY, false).sig, 'clean');
});

/** vcpu_cache_mmio_info for the APIC gfn; `apicSlot`: the APIC-access memslot exists. */
function apicMmioUnit(apicSlot: boolean): Result & { kvm: Kvm } {
  const u = new Unit({ params: { apicAccessSlot: apicSlot } });
  const kvm = u.kvm;
  u.spawn('vcpu0', function* (t) {
    yield* vcpu_cache_mmio_info(t, kvm, kvm.vcpus[0]!, APIC_DEFAULT_GFN, kvm.memslots.generation);
  });
  return { ...u.run(), kvm };
}

// Unit-style: the model's TDP fault never reaches "no slot" for the APIC gfn
// while the APIC-access slot exists (the private-slot-in-L2 branch of
// kvm_faultin_pfn is not reached: L2 accesses take the nested-EPT fault).
test('INVARIANT apic-mmio-cached fires: the APIC gfn cached as MMIO while the APIC-access memslot exists', (t) => {
  t.is(apicMmioUnit(true).sig, 'INVARIANT apic-mmio-cached: APIC gfn put in the MMIO cache');
});

test('INVARIANT apic-mmio-cached silent: the same gfn cached as MMIO without an APIC-access memslot', (t) => {
  const r = apicMmioUnit(false);
  t.is(r.sig, 'clean');
  t.is(r.kvm.vcpus[0]!.mmio_gfn, APIC_DEFAULT_GFN);
});

// ===========================================================================
// vcpu-run.ts

/** vcpu0 reads gfn 1; its APICv state is inactive; the VM's is `vmActive`. */
function apicvEntryScenario(vmActive: boolean): Scenario {
  return {
    params: { vcpus: 1, apicvInhibitReasons: vmActive ? 0 : 1 },
    program: { vcpus: [[{ kind: 'access', gfn: 1, write: false }]] },
    setup: (kvm) => {
      kvm.vcpus[0]!.apicv_active = false;
    },
  };
}

// Set-up mismatch: the model's toggles cannot produce it (the update kicks
// and waits for vCPUs in guest mode before storing the new state, and a vCPU
// that has not entered yet sees the request at its exit-request check).
test('WARN vcpu_enter_guest APICv mismatch fires: a vCPU with APICv inactive enters while the VM\'s is active', (t) => {
  t.is(runWith(apicvEntryScenario(true), new FuzzBytesSource()).sig, 'WARN vcpu_enter_guest: APICv state of the vCPU differs from the VM\'s');
});

test('WARN vcpu_enter_guest APICv mismatch silent: the VM is inhibited too', (t) => {
  t.is(runWith(apicvEntryScenario(false), new FuzzBytesSource()).sig, 'clean');
});

/**
 * Two vCPUs share root R (gfn 1, gfn 2 mapped, both in guest mode). vcpu1
 * takes an EPT violation on the APIC gfn and stops before its memslot lookup;
 * the whole inhibit runs (vcpu0, in guest mode, is kicked and applies
 * "inactive" and re-enters); vcpu1's fault then reads its own stale "active"
 * (switch on) and maps the APIC-access page into R; vcpu0 accesses the APIC
 * gfn through it.
 */
function bypassScenario(off: boolean): Scenario {
  return {
    off: off ? ['vcpu-apicv-state'] : [],
    params: { apicAccessSlot: true, vcpus: 2 },
    program: {
      vcpus: [
        [{ kind: 'access', gfn: 1, write: false }, { kind: 'access', gfn: APIC_DEFAULT_GFN, write: false }],
        [{ kind: 'access', gfn: 2, write: false }, { kind: 'access', gfn: APIC_DEFAULT_GFN, write: false }],
      ],
      ioctl: [{ kind: 'apicv', activate: false, bit: 0 }],
    },
  };
}
const BYPASS: ScriptStep[] = [
  { thread: 'vcpu0', until: 'guest:access', nth: 3 },
  { thread: 'vcpu1', until: 'kvm_vcpu_gfn_to_memslot:kvm->memslots.load', nth: 2 },
  { thread: 'ioctl', until: 'kvm_request_apicv_update:smp_call_function_many(wait, vcpu0)' },
  { thread: 'vcpu0', until: 'vcpu_enter_guest:vcpu->requests.load' },
  { thread: 'ioctl', until: null },
  { thread: 'vcpu0', until: 'guest:access' },
  { thread: 'vcpu1', until: 'vcpu_enter_guest:vcpu->requests.load' },
  { thread: 'vcpu0', until: null },
  { thread: 'vcpu1', until: null },
];

test('INVARIANT apic-access-bypassed fires: seed 001 on side, another vCPU\'s stale fault maps the APIC page under a running vCPU', (t) => {
  const r = runScript(bypassScenario(false), BYPASS);
  t.is(r.sig, 'INVARIANT apic-access-bypassed: APIC access bypassed emulation');
  t.is(r.outcome.failure!.thread, 'vcpu0');
});

test('INVARIANT apic-access-bypassed silent: the same schedule, switch off (the fault reads the VM\'s state and emulates)', (t) => {
  const r = runScript(bypassScenario(true), BYPASS, false, true);
  t.is(r.sig, 'clean');
  t.is(r.outcome.trace!.filter((e) => e.label === 'x86_emulate_instruction:emulate').length, 2);
});

test('INVARIANT apic-page-mapped-at-entry fires: seed 001 finding (update between VM-exit and the mmu_seq snapshot), switch on', (t) => {
  t.is(runScript(apicScenario(false), APIC_S2C).sig, 'INVARIANT apic-page-mapped-at-entry: APIC-access page mapped at guest entry with APICv inactive');
});

test('INVARIANT apic-page-mapped-at-entry silent: the same schedule, switch off', (t) => {
  t.is(runScript(apicScenario(true), APIC_S2C).sig, 'clean');
});

/** vcpu0 starts with root R (its reference, on tdp_mmu_roots); `freed`: R has been freed. */
function freedRootScenario(freed: boolean): Scenario {
  return {
    params: { vcpus: 1 },
    program: { vcpus: [[{ kind: 'access', gfn: 1, write: false }]] },
    setup: (kvm) => {
      const R = tdpRoot(kvm, 'R', { onList: true });
      kvm.vcpus[0]!.root_hpa = R;
      if (freed) R.freedBy = 'test:free';
    },
  };
}

// Set-up state: the vCPU's own reference keeps its root alive in the model.
test('INVARIANT entry-on-freed-root fires: the vCPU\'s root has been freed', (t) => {
  t.is(runWith(freedRootScenario(true), new FuzzBytesSource()).sig, 'INVARIANT entry-on-freed-root: guest entered on a freed root');
});

test('INVARIANT entry-on-freed-root silent: the same root, live', (t) => {
  t.is(runWith(freedRootScenario(false), new FuzzBytesSource()).sig, 'clean');
});

// ===========================================================================
// memslot-ops.ts

test('INVARIANT rmap-publication fires: seed 004 DELETE, claim variant sketch (no re-copy after the lock is dropped)', (t) => {
  t.is(runScript(rmapScenario(false, ['slots-arch-lock:sketch'], 12, 'DELETE'), RMAP_DELETE_WINDOW, false).sig,
    'INVARIANT rmap-publication: memslot published without rmaps after rmaps were enabled');
});

test('INVARIANT rmap-publication silent: the same schedule with kvm_copy_memslots (switch on)', (t) => {
  t.is(runScript(rmapScenario(false, [], 12, 'DELETE'), RMAP_DELETE_WINDOW, false).sig, 'clean');
});

/** A memslot CREATE with the memslots generation starting at `generation`. */
function generationScenario(generation: bigint): Scenario {
  return {
    params: { generation },
    program: { vcpus: [], ioctl: [{ kind: 'memslot', req: { change: 'CREATE', id: 1, base_gfn: 16, npages: 8, userspace_addr: 0x9000, flags: 0 } }] },
  };
}

test('WARN install_new_memslots generation odd fires: an update starting from an odd (in-progress) generation', (t) => {
  t.is(runWith(generationScenario(1n), new FuzzBytesSource()).sig, 'WARN install_new_memslots: memslot generation update already in progress');
});

test('WARN install_new_memslots generation odd silent: the same update from an even generation', (t) => {
  const r = runWith(generationScenario(2n), new FuzzBytesSource());
  t.is(r.sig, 'clean');
  t.is(r.kvm.memslots.generation, 4n);
});

// ===========================================================================
// mmu-notifier.ts

test('INVARIANT freed-page-mapped fires: seed 004 Race 2, switch off, then the MM unmaps the L2 page (lost rmap entry, not zapped)', (t) => {
  const r = runScript(rmapScenario(true, [], 12, 'CREATE', true), [...RMAP_RACE2, { thread: 'mm', until: null }]);
  t.is(r.sig, 'INVARIANT freed-page-mapped: page freed while an SPTE maps it');
  t.is(r.outcome.failure!.thread, 'mm');
  t.regex(r.outcome.failure!.message, /page@hva100c .* but S\d+@10\[0\] still map it/);
});

test('INVARIANT freed-page-mapped silent: the same schedule, switch on (the rmap walk zaps the shadow SPTE)', (t) => {
  t.is(runScript(rmapScenario(false, [], 12, 'CREATE', true), [...RMAP_RACE2, { thread: 'mm', until: null }], false).sig, 'clean');
});

/** invalidate_range_end for slot 0's first page, with (`paired`) or without its range_start. */
function notifierUnit(paired: boolean): Result & { kvm: Kvm } {
  const u = new Unit();
  const kvm = u.kvm;
  u.spawn('mm', function* (t) {
    if (paired) yield* kvm_mmu_notifier_invalidate_range_start(t, kvm, 0x1000, 0x1001);
    yield* kvm_mmu_notifier_invalidate_range_end(t, kvm, 0x1000, 0x1001);
  });
  return { ...u.run(), kvm };
}

// Unit-style: the primary MM always pairs start and end.
test('BUG kvm_mmu_notifier_invalidate_range_end count negative fires: an end without its start', (t) => {
  t.is(notifierUnit(false).sig, 'BUG kvm_mmu_notifier_invalidate_range_end: mmu_notifier_count negative');
});

test('BUG kvm_mmu_notifier_invalidate_range_end count negative silent: start then end', (t) => {
  const r = notifierUnit(true);
  t.is(r.sig, 'clean');
  t.is(r.kvm.mmu_notifier_count, 0);
  t.is(r.kvm.mmu_notifier_seq, 1n);
});

// ===========================================================================
// vm.ts quiescence oracles (no thread runs; only the end-of-execution checks)

test('INVARIANT root-refcount fires at quiescence: a root with a reference no vCPU owns', (t) => {
  const u = new Unit({ oracles: true });
  u.kvm.vcpus[0]!.root_hpa = tdpRoot(u.kvm, 'R', { count: 2, onList: true });
  const r = u.run();
  t.is(r.sig, 'INVARIANT root-refcount: TDP MMU root refcount differs from its owners');
  t.is(r.outcome.failure!.step, -1);
});

test('INVARIANT root-refcount silent: the root\'s only reference is its vCPU\'s', (t) => {
  const u = new Unit({ oracles: true });
  u.kvm.vcpus[0]!.root_hpa = tdpRoot(u.kvm, 'R', { count: 1, onList: true });
  t.is(u.run().sig, 'clean');
});

/** APICv inhibited, vcpu0's root maps the APIC gfn to the APIC-access page; `applied`: every vCPU has applied the inhibit. */
function apicQuiescenceUnit(applied: boolean): Result {
  const u = new Unit({ oracles: true, params: { apicAccessSlot: true, apicvInhibitReasons: 1, vcpus: 2 } });
  const kvm = u.kvm;
  const R = tdpRoot(kvm, 'R', { onList: true });
  kvm.vcpus[0]!.root_hpa = R;
  tdpMap(kvm, R, APIC_DEFAULT_GFN, makeLeaf(kvm.apic_access_page!.pfn, true));
  kvm.vcpus[0]!.apicv_active = false;
  kvm.vcpus[1]!.apicv_active = !applied;
  return u.run();
}

test('INVARIANT apic-mapped-while-inhibited fires at quiescence: inhibited, every vCPU updated, a root maps the APIC page', (t) => {
  t.is(apicQuiescenceUnit(true).sig, 'INVARIANT apic-mapped-while-inhibited: APIC-access page mapped while APICv is inhibited');
});

test('INVARIANT apic-mapped-while-inhibited silent: the same mapping while one vCPU has not yet applied the inhibit', (t) => {
  t.is(apicQuiescenceUnit(false).sig, 'clean');
});

test('INVARIANT rmap-entries-lost fires at quiescence: seed 004 Race 2, switch off', (t) => {
  const r = runScript(rmapScenario(true, [], 12), RMAP_RACE2);
  t.is(r.sig, 'INVARIANT rmap-entries-lost: rmap array with entries dropped from the memslots');
  t.is(r.outcome.failure!.step, -1);
});

test('INVARIANT rmap-entries-lost silent: seed 004 Race 2, switch on', (t) => {
  t.is(runScript(rmapScenario(false, [], 12), RMAP_RACE2, false).sig, 'clean');
});

/** A 4K indirect SP whose entry 0 maps gfn 3 (slot 0, rmaps allocated); `recorded`: the rmap has the entry. */
function rmapQuiescenceUnit(recorded: boolean): Result {
  const u = new Unit({ oracles: true, params: { shadowRootAllocated: true } });
  const kvm = u.kvm;
  const S = shadowSp(kvm, 1, 10, 'S');
  S.isRoot = true;
  S.spt[0] = makeLeaf(kvm.allocPfn(), false);
  S.gfns.set(0, 3);
  if (recorded) slotOf(kvm, 3).arch.rmap!.entries.set(3, [{ sp: S, idx: 0 }]);
  return u.run();
}

test('INVARIANT shadow-spte-without-rmap fires at quiescence: a present shadow leaf missing from its slot\'s rmap', (t) => {
  t.is(rmapQuiescenceUnit(false).sig, 'INVARIANT shadow-spte-without-rmap: shadow SPTE missing from its slot\'s rmap');
});

test('INVARIANT shadow-spte-without-rmap silent: the rmap records it', (t) => {
  t.is(rmapQuiescenceUnit(true).sig, 'clean');
});

/** A page freed by a thread (not through mm_unmap_range) while vcpu0's root maps it (`mapped`) or not. */
function freedPageUnit(mapped: boolean): Result {
  const u = new Unit({ oracles: true });
  const kvm = u.kvm;
  const R = tdpRoot(kvm, 'R', { onList: true });
  kvm.vcpus[0]!.root_hpa = R;
  const page = kvm.newPage(0x1001);
  tdpMap(kvm, R, 1, mapped ? makeLeaf(page.pfn, true) : 0);
  u.spawn('mm', function* (t) {
    yield 'free_pages:page.free';
    t.free(page);
  });
  return u.run();
}

test('INVARIANT freed-page-mapped (quiescence check) fires: a freed page that a root still maps at the end', (t) => {
  const r = freedPageUnit(true);
  t.is(r.sig, 'INVARIANT freed-page-mapped: page freed while an SPTE maps it');
  t.is(r.outcome.failure!.step, -1);
});

test('INVARIANT freed-page-mapped (quiescence check) silent: the freed page is not mapped', (t) => {
  t.is(freedPageUnit(false).sig, 'clean');
});

// ===========================================================================
// list.ts

/** kvm_tdp_mmu_get_vcpu_root_hpa (write lock) adding a new root to tdp_mmu_roots; `corrupt`: head.prev is stale. */
function listAddUnit(corrupt: boolean): Result {
  const u = new Unit();
  const kvm = u.kvm;
  if (corrupt) {
    const stale = tdpRoot(kvm, 'stale', { count: 0 });
    kvm.tdp_mmu_roots.prev = stale.link;
  }
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'mmu_alloc_direct_roots');
    kvm.vcpus[0]!.root_hpa = yield* kvm_tdp_mmu_get_vcpu_root_hpa(t, kvm, 0);
    yield* kvm.mmu_lock.writeUnlock(t, 'mmu_alloc_direct_roots');
  });
  return u.run();
}

test('BUG list_add corruption fires: tdp_mmu_roots whose head->prev does not match head->next', (t) => {
  t.is(listAddUnit(true).sig, 'BUG kvm_tdp_mmu_get_vcpu_root_hpa: list_add corruption');
});

test('BUG list_add corruption silent: a consistent tdp_mmu_roots', (t) => {
  t.is(listAddUnit(false).sig, 'clean');
});

/** tdp_mmu_link_page's list_add of an SP onto tdp_mmu_pages; `twice`: the SP is already first on it. */
function doubleAddUnit(twice: boolean): Result {
  const u = new Unit();
  const kvm = u.kvm;
  const sp = new Sp(kvm.ex, 3, true, 0, true, kvm.allocPfn(), 0, 'sp');
  if (twice) linkAtHead(kvm.tdp_mmu_pages, sp.link);
  u.spawn('vcpu0', function* (t) {
    yield* kvm.mmu_lock.readLock(t, 'kvm_tdp_mmu_map');
    yield* kvm.tdp_mmu_pages_lock.lock(t, 'tdp_mmu_link_page');
    yield 'tdp_mmu_link_page:tdp_mmu_pages.list_add';
    listAdd(t, sp.link, kvm.tdp_mmu_pages);
    yield* kvm.tdp_mmu_pages_lock.unlock(t, 'tdp_mmu_link_page');
    yield* kvm.mmu_lock.readUnlock(t, 'kvm_tdp_mmu_map');
  });
  return u.run();
}

test('BUG list_add double add fires: an SP added to tdp_mmu_pages twice', (t) => {
  t.is(doubleAddUnit(true).sig, 'BUG tdp_mmu_link_page: list_add double add');
});

test('BUG list_add double add silent: the first add', (t) => {
  t.is(doubleAddUnit(false).sig, 'clean');
});

/**
 * handle_removed_tdp_mmu_page (write lock) of an empty level-3 SP, whose link
 * is `state`: on tdp_mmu_pages, already list_del'd, zero-filled (never added),
 * or pointing at neighbours that do not point back.
 */
function unlinkUnit(state: 'linked' | 'deleted' | 'zero' | 'stale'): Result {
  const u = new Unit();
  const kvm = u.kvm;
  const sp = new Sp(kvm.ex, 3, true, 0, true, kvm.allocPfn(), 0, 'sp');
  kvm.frames.set(sp.pfn, sp);
  if (state === 'linked') linkAtHead(kvm.tdp_mmu_pages, sp.link);
  if (state === 'deleted') {
    sp.link.next = LIST_POISON1;
    sp.link.prev = LIST_POISON2;
  }
  if (state === 'stale') {
    sp.link.next = kvm.tdp_mmu_pages;
    sp.link.prev = kvm.tdp_mmu_pages;
  }
  u.spawn('ioctl', function* (t) {
    yield* kvm.mmu_lock.writeLock(t, 'zap_gfn_range');
    yield* handle_removed_tdp_mmu_page(t, kvm, sp, false);
    yield* kvm.mmu_lock.writeUnlock(t, 'zap_gfn_range');
  });
  return u.run();
}

test('BUG list_del corruption (already deleted) fires: removing a page table whose link is poisoned', (t) => {
  t.is(unlinkUnit('deleted').sig, 'BUG tdp_mmu_unlink_page: list_del corruption: entry already deleted');
});

test('BUG list_del corruption (neighbours do not point back) fires: a link whose neighbours forgot it', (t) => {
  t.is(unlinkUnit('stale').sig, 'BUG tdp_mmu_unlink_page: list_del corruption: neighbours do not point back');
});

test('NULL list_del on a zero-filled node fires: removing a page table never added to tdp_mmu_pages', (t) => {
  t.is(unlinkUnit('zero').sig, 'NULL tdp_mmu_unlink_page: NULL pointer dereference of sp.link->next');
});

test('BUG list_del corruption / NULL silent: removing a page table that is on tdp_mmu_pages', (t) => {
  t.is(unlinkUnit('linked').sig, 'clean');
});

/**
 * Root R (only a vCPU's reference) is put under the read lock (shared) while
 * an iterator, also under the read lock, found R first on tdp_mmu_roots: its
 * kvm_tdp_mmu_get_root fails (count 0), and it reads R's successor after the
 * put removed R from the list — with list_del_rcu (switch on) or, with the
 * claim variant plain-list-del, list_del (poisoned pointers).
 */
function poisonUnit(plain: boolean): Result {
  const u = new Unit({
    variants: plain ? ['roots-off-list:plain-list-del'] : [],
    script: [
      { thread: 'iter', until: 'kvm_tdp_mmu_get_root:root.tdp_mmu_root_count.inc_not_zero' },
      { thread: 'put', until: 'kvm_tdp_mmu_put_root:tdp_mmu_pages_lock.lock' },
      { thread: 'iter', until: 'tdp_mmu_next_root:list_next_or_null_rcu' },
      { thread: 'put', until: 'kvm_tdp_mmu_put_root:tdp_mmu_pages_lock.unlock' },
      { thread: 'iter', until: null },
      { thread: 'put', until: null },
    ],
  });
  const kvm = u.kvm;
  const R = tdpRoot(kvm, 'R', { onList: true });
  u.spawn('iter', function* (t) {
    yield* kvm.mmu_lock.readLock(t, 'kvm_tdp_mmu_zap_collapsible_sptes');
    const root = yield* tdp_mmu_next_root(t, kvm, null, true);
    if (root !== null) yield* kvm_tdp_mmu_put_root(t, kvm, root, true);
    yield* kvm.mmu_lock.readUnlock(t, 'kvm_tdp_mmu_zap_collapsible_sptes');
  });
  u.spawn('put', function* (t) {
    yield* kvm.mmu_lock.readLock(t, 'kvm_mmu_free_roots');
    yield* kvm_tdp_mmu_put_root(t, kvm, R, true);
    yield* kvm.mmu_lock.readUnlock(t, 'kvm_mmu_free_roots');
  });
  return u.run();
}

test('BUG poisoned pointer dereference fires: claim variant plain-list-del, an RCU reader steps off a list_del\'d root', (t) => {
  t.is(poisonUnit(true).sig, 'BUG tdp_mmu_next_root: dereference of LIST_POISON1 (R.link->next)');
});

test('BUG poisoned pointer dereference silent: list_del_rcu keeps the successor (switch on)', (t) => {
  t.is(poisonUnit(false).sig, 'clean');
});

// ===========================================================================
// Lockdep assertions used by the model (kvm-mmu-model.md 2.2)

/** Runs `body` in one thread of a fresh unit (switches `off`). */
function lockUnit(body: (t: SimThread, kvm: Kvm) => Step, off: string[] = []): Result {
  const u = new Unit({ off });
  const kvm = u.kvm;
  // A first step before the call: code before a body's first yield runs at spawn time, outside the execution.
  u.spawn('t0', function* (t) {
    yield 'caller:enter';
    yield* body(t, kvm);
  });
  return u.run();
}

function* zapRange(t: SimThread, kvm: Kvm, locked: boolean): Step {
  const R = tdpRoot(kvm, 'R', { onList: true });
  tdpMap(kvm, R, 1, makeLeaf(kvm.allocPfn(), true));
  if (locked) yield* kvm.mmu_lock.writeLock(t, 'kvm_tdp_mmu_zap_gfn_range');
  yield* zap_gfn_range(t, kvm, R, 0, 16, true, false, false);
  if (locked) yield* kvm.mmu_lock.writeUnlock(t, 'kvm_tdp_mmu_zap_gfn_range');
}

test('LOCKDEP zap_gfn_range without mmu_lock fires', (t) => {
  t.is(lockUnit((th, kvm) => zapRange(th, kvm, false)).sig, 'LOCKDEP zap_gfn_range: mmu_lock not held for write');
});

test('LOCKDEP zap_gfn_range silent: mmu_lock held for write', (t) => {
  t.is(lockUnit((th, kvm) => zapRange(th, kvm, true)).sig, 'clean');
});

function* rootAlloc(t: SimThread, kvm: Kvm, write: boolean): Step {
  if (write) yield* kvm.mmu_lock.writeLock(t, 'mmu_alloc_direct_roots');
  else yield* kvm.mmu_lock.readLock(t, 'mmu_alloc_direct_roots');
  kvm.vcpus[0]!.root_hpa = yield* kvm_tdp_mmu_get_vcpu_root_hpa(t, kvm, 0);
  if (write) yield* kvm.mmu_lock.writeUnlock(t, 'mmu_alloc_direct_roots');
  else yield* kvm.mmu_lock.readUnlock(t, 'mmu_alloc_direct_roots');
}

test('LOCKDEP kvm_tdp_mmu_get_vcpu_root_hpa with mmu_lock held only for read fires', (t) => {
  t.is(lockUnit((th, kvm) => rootAlloc(th, kvm, false)).sig, 'LOCKDEP kvm_tdp_mmu_get_vcpu_root_hpa: mmu_lock not held for write');
});

test('LOCKDEP kvm_tdp_mmu_get_vcpu_root_hpa silent: mmu_lock held for write', (t) => {
  t.is(lockUnit((th, kvm) => rootAlloc(th, kvm, true)).sig, 'clean');
});

function* zapAllFast(t: SimThread, kvm: Kvm, slotsLock: boolean): Step {
  if (slotsLock) yield* kvm.slots_lock.lock(t, 'set_nx_huge_pages');
  yield* kvm_mmu_zap_all_fast(t, kvm);
  if (slotsLock) yield* kvm.slots_lock.unlock(t, 'set_nx_huge_pages');
}

test('LOCKDEP kvm_mmu_zap_all_fast without slots_lock fires', (t) => {
  t.is(lockUnit((th, kvm) => zapAllFast(th, kvm, false)).sig, 'LOCKDEP kvm_mmu_zap_all_fast: slots_lock not held');
});

test('LOCKDEP kvm_mmu_zap_all_fast silent: slots_lock held', (t) => {
  t.is(lockUnit((th, kvm) => zapAllFast(th, kvm, true)).sig, 'clean');
});

function* zapInvalidated(t: SimThread, kvm: Kvm): Step {
  const local = kvm.config.switches['roots-off-list'] ? new StackListHead(kvm) : null;
  yield* kvm.mmu_lock.readLock(t, 'kvm_mmu_zap_all_fast');
  yield* kvm_tdp_mmu_zap_invalidated_roots(t, kvm, local);
  yield* kvm.mmu_lock.readUnlock(t, 'kvm_mmu_zap_all_fast');
}

test('LOCKDEP kvm_tdp_mmu_zap_invalidated_roots without slots_lock fires (switch on)', (t) => {
  t.is(lockUnit(zapInvalidated).sig, 'LOCKDEP kvm_tdp_mmu_zap_invalidated_roots: slots_lock not held');
});

test('LOCKDEP kvm_tdp_mmu_zap_invalidated_roots silent: switch off, where it does not assert slots_lock', (t) => {
  t.is(lockUnit(zapInvalidated, ['roots-off-list']).sig, 'clean');
});

function* unsyncNoLock(t: SimThread, kvm: Kvm, locked: boolean): Step {
  if (locked) yield* kvm.mmu_lock.readLock(t, 'direct_page_fault');
  yield* mmu_try_to_unsync_pages(t, kvm, slotOf(kvm, 5), 5, true, false);
  if (locked) yield* kvm.mmu_lock.readUnlock(t, 'direct_page_fault');
}

test('LOCKDEP mmu_try_to_unsync_pages without mmu_lock fires', (t) => {
  t.is(lockUnit((th, kvm) => unsyncNoLock(th, kvm, false)).sig, 'LOCKDEP mmu_try_to_unsync_pages: mmu_lock not held');
});

test('LOCKDEP mmu_try_to_unsync_pages silent: mmu_lock held for read', (t) => {
  t.is(lockUnit((th, kvm) => unsyncNoLock(th, kvm, true)).sig, 'clean');
});

function* rmapAddLocked(t: SimThread, kvm: Kvm, write: boolean): Step {
  const S = shadowSp(kvm, 1, 10, 'S');
  if (write) yield* kvm.mmu_lock.writeLock(t, 'FNAME(page_fault)');
  else yield* kvm.mmu_lock.readLock(t, 'FNAME(page_fault)');
  yield* rmap_add(t, kvm, slotOf(kvm, 3), { sp: S, idx: 0 }, 3);
  if (write) yield* kvm.mmu_lock.writeUnlock(t, 'FNAME(page_fault)');
  else yield* kvm.mmu_lock.readUnlock(t, 'FNAME(page_fault)');
}

test('LOCKDEP rmap_add with mmu_lock held only for read fires', (t) => {
  const u = new Unit({ params: { shadowRootAllocated: true } });
  u.spawn('t0', (th) => rmapAddLocked(th, u.kvm, false));
  t.is(u.run().sig, 'LOCKDEP rmap_add: mmu_lock not held for write');
});

test('LOCKDEP rmap_add silent: mmu_lock held for write', (t) => {
  const u = new Unit({ params: { shadowRootAllocated: true } });
  u.spawn('t0', (th) => rmapAddLocked(th, u.kvm, true));
  t.is(u.run().sig, 'clean');
});

function* firstShadowRoot(t: SimThread, kvm: Kvm, underMmuLock: boolean): Step {
  if (underMmuLock) yield* kvm.mmu_lock.writeLock(t, 'mmu_alloc_shadow_roots');
  yield* mmu_first_shadow_root_alloc(t, kvm);
  if (underMmuLock) yield* kvm.mmu_lock.writeUnlock(t, 'mmu_alloc_shadow_roots');
}

test('LOCKDEP sleeping in atomic fires: mmu_first_shadow_root_alloc (takes the slots_arch_lock mutex) under mmu_lock', (t) => {
  t.is(lockUnit((th, kvm) => firstShadowRoot(th, kvm, true)).sig, 'LOCKDEP mmu_first_shadow_root_alloc: sleeping function called from invalid context');
});

test('LOCKDEP sleeping in atomic silent: mmu_first_shadow_root_alloc before taking mmu_lock', (t) => {
  t.is(lockUnit((th, kvm) => firstShadowRoot(th, kvm, false)).sig, 'clean');
});

test('LOCKDEP lock-order cycle fires: seed 004 claim variant hold-across-sync (slots_arch_lock across synchronize_srcu)', (t) => {
  const r = runWith(rmapScenario(false, ['slots-arch-lock:hold-across-sync'], 12), new FuzzBytesSource());
  t.is(r.sig, 'LOCKDEP install_new_memslots: possible circular locking slots_arch_lock -> kvm->srcu');
});

test('LOCKDEP lock-order cycle silent: slots_arch_lock released before synchronize_srcu (switch on)', (t) => {
  t.is(runWith(rmapScenario(false, [], 12), new FuzzBytesSource()).sig, 'clean');
});
