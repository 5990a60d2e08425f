/**
 * The TDP MMU (arch/x86/kvm/mmu/tdp_mmu.c, late 2021): roots and their
 * references, the root iterators, zap_gfn_range with its yield points,
 * removal of page tables with RCU-deferred frees, the page fault's walk,
 * root allocation, and the fast-zap pieces (invalidate all roots, zap the
 * invalidated ones) on both sides of the `roots-off-list` switch.
 */
import { call, label, KObject, type SimThread, type Step, spinPoint } from '../runtime';
import type { Kvm } from './kvm';
import { ListNode, listAdd, listDel, listDelRcu, listMoveTail, listNextOrNull } from './list';
import { Sp } from './mmu-page';
import { Page } from './primary-mm';
import {
  PT_ENTRIES, REMOVED_SPTE, entryGfn, entrySpan, isAccessed, isDirty, isLeaf, isPresent, isRemoved, nextNonZero, nextPresent,
  pfnOf, ptIndex, showSpte, writeProtected,
} from './spte';

/** Root level of TDP MMU page tables (4-level EPT). */
export const TDP_ROOT_LEVEL = 4;
/** One past the largest gfn the host can map (zap_gfn_range clamps to it). */
export const MAX_GFN = 2 ** (9 * TDP_ROOT_LEVEL);

const ON = (kvm: Kvm): boolean => kvm.config.switches['roots-off-list'];

// ---------------------------------------------------------------------------
// Root references (1.4.1)

/**
 * `kvm_tdp_mmu_get_root`. Off: fail for an invalid root. On (seed 003):
 * `WARN_ON_ONCE(root->role.invalid)` — acquiring a reference on an invalid
 * root is a KVM bug — then fail. Then `refcount_inc_not_zero`.
 */
export function* kvm_tdp_mmu_get_root(t: SimThread, kvm: Kvm, root: Sp): Step<boolean> {
  yield 'kvm_tdp_mmu_get_root:root.role.invalid.load';
  const invalid = t.load(root, 'role_invalid');
  if (ON(kvm)) {
    if (t.warnOnOnce(invalid, 'kvm_tdp_mmu_get_root', 'reference on an invalid root',
      () => `${t.name} tries to take a reference on invalid root ${root.name} (count ${root.tdp_mmu_root_count.value})`)) return false;
  } else if (invalid) {
    return false;
  }
  yield 'kvm_tdp_mmu_get_root:root.tdp_mmu_root_count.inc_not_zero';
  return root.tdp_mmu_root_count.incNotZero(t);
}

/**
 * `kvm_tdp_mmu_put_root(kvm, root, shared)` — caller holds mmu_lock in the
 * mode `shared` says. On the last reference: remove the root from
 * tdp_mmu_roots (RCU deletion; on the switch's on side only if it is not
 * invalid, since invalid roots are already off the list), zap it entirely,
 * and free it after a grace period.
 */
export function* kvm_tdp_mmu_put_root(t: SimThread, kvm: Kvm, root: Sp, shared: boolean): Step {
  t.assertHeld(kvm.mmu_lock, shared ? 'read' : 'write', 'kvm_tdp_mmu_put_root');
  yield 'kvm_tdp_mmu_put_root:root.tdp_mmu_root_count.dec_and_test';
  if (!root.tdp_mmu_root_count.decAndTest(t)) return;
  t.warnOn(!root.tdp_mmu_page, 'kvm_tdp_mmu_put_root', 'put of a non-TDP-MMU root', `${root.name} is not a TDP MMU page`);
  yield* kvm.tdp_mmu_pages_lock.lock(t, 'kvm_tdp_mmu_put_root');
  yield 'kvm_tdp_mmu_put_root:root.role.invalid.load';
  const invalid = t.load(root, 'role_invalid');
  if (!ON(kvm) || !invalid) {
    yield 'kvm_tdp_mmu_put_root:tdp_mmu_roots.list_del_rcu';
    if (kvm.variant('roots-off-list:plain-list-del')) listDel(t, root.link);
    else listDelRcu(t, root.link);
  }
  yield* kvm.tdp_mmu_pages_lock.unlock(t, 'kvm_tdp_mmu_put_root');
  const flush = yield* call(zap_gfn_range(t, kvm, root, 0, MAX_GFN, true, false, shared));
  if (ON(kvm)) {
    // A flush here means a present SPTE was zapped after the last yield: it
    // was installed under an invalid root, which must not happen.
    t.warnOnOnce(flush && invalid, 'kvm_tdp_mmu_put_root', 'flush needed for an invalid root',
      () => `${t.name}: zapping invalid root ${root.name} found present SPTEs after its last yield`);
  }
  yield 'kvm_tdp_mmu_put_root:call_rcu';
  tdp_mmu_free_sp_rcu(t, kvm, root);
}

/** `call_rcu(&sp->rcu_head, tdp_mmu_free_sp_rcu_callback)`: free the SP (and its table) after a grace period. */
export function tdp_mmu_free_sp_rcu(t: SimThread, kvm: Kvm, sp: Sp): void {
  kvm.rcu.callRcu(t, `tdp_mmu_free_sp_rcu_callback(${sp.name})`, (rt) => {
    rt.free(sp);
  });
}

// ---------------------------------------------------------------------------
// Root iterators

/**
 * `tdp_mmu_next_root(kvm, prev_root, shared)`: the next valid root after
 * `prev_root` (or the first), with a reference; puts `prev_root`. On the
 * switch's on side it restarts from the head when `prev_root` has been
 * invalidated meanwhile (the caller yielded mmu_lock), because invalidation
 * moved it onto the fast zap's local list.
 */
export function* tdp_mmu_next_root(t: SimThread, kvm: Kvm, prev: Sp | null, shared: boolean): Step<Sp | null> {
  let prev_root = prev;
  if (ON(kvm)) {
    t.assertHeld(kvm.mmu_lock, 'any', 'tdp_mmu_next_root');
    if (prev_root !== null && !kvm.variant('roots-off-list:no-restart')) {
      yield 'tdp_mmu_next_root:prev_root.role.invalid.load';
      if (t.load(prev_root, 'role_invalid')) {
        // Restart: put prev_root (the fast zap still holds its own reference).
        yield* call(kvm_tdp_mmu_put_root(t, kvm, prev_root, shared));
        prev_root = null;
      }
    }
  }
  const useRcu = !(ON(kvm) && kvm.variant('roots-off-list:no-rcu-next'));
  if (useRcu) t.rcuReadLock();
  yield 'tdp_mmu_next_root:list_next_or_null_rcu';
  let node = listNextOrNull(t, kvm.tdp_mmu_roots, prev_root === null ? kvm.tdp_mmu_roots : prev_root.link);
  let next = nodeToRoot(t, node);
  while (next !== null) {
    if (yield* kvm_tdp_mmu_get_root(t, kvm, next)) break;
    yield 'tdp_mmu_next_root:list_next_or_null_rcu';
    node = listNextOrNull(t, kvm.tdp_mmu_roots, next.link);
    next = nodeToRoot(t, node);
  }
  if (useRcu) t.rcuReadUnlock();
  if (next !== null) {
    if (t.ex.tracing) t.note(`next root ${next.name}`);
    t.ex.feature('tdp_mmu_next_root:got', next.role_invalid ? 1 : 0);
  }
  if (prev_root !== null) yield* call(kvm_tdp_mmu_put_root(t, kvm, prev_root, shared));
  return next;
}

/** container_of(node, struct kvm_mmu_page, link) — a list head is not a root. */
function nodeToRoot(t: SimThread, node: ListNode | null): Sp | null {
  if (node === null) return null;
  if (node.head || !(node.owner instanceof Sp)) {
    return t.ex.fail('BUG', 'tdp_mmu_next_root', 'list head treated as a root',
      `${t.name} follows tdp_mmu_roots into ${node.name}, which is a list head (not a root): container_of() yields a bogus kvm_mmu_page`);
  }
  return node.owner;
}

/**
 * `for_each_tdp_mmu_root_yield_safe(kvm, root, as_id, shared)`: runs `body`
 * on each valid root of address space `as_id` with a reference held (roots
 * of the other space are referenced and skipped); the body may yield
 * mmu_lock.
 */
export function* for_each_tdp_mmu_root_yield_safe(
  t: SimThread, kvm: Kvm, as_id: number, shared: boolean, body: (root: Sp, flush: boolean) => Step<boolean>, flush0: boolean,
): Step<boolean> {
  // The body's flush result is threaded through (the kernel's callers OR it into a local), so that
  // callers pass a plain arrow to a module-level generator: a generator function created per call
  // gets its own prototype and map, which defeats V8's inline caches and young-generation GC.
  let flush = flush0;
  let root = yield* tdp_mmu_next_root(t, kvm, null, shared);
  while (root !== null) {
    if (root.as_id === as_id) flush = yield* body(root, flush);
    root = yield* tdp_mmu_next_root(t, kvm, root, shared);
  }
  return flush;
}

/**
 * `for_each_tdp_mmu_root(kvm, root, as_id)`: every root on the list, valid
 * or not, no references; requires mmu_lock held for write; never yields.
 * The list is read in one step (the write lock excludes every writer).
 */
export function* for_each_tdp_mmu_root(t: SimThread, kvm: Kvm, fn: string): Step<Sp[]> {
  t.assertHeld(kvm.mmu_lock, 'write', fn);
  yield label(fn, 'tdp_mmu_roots.walk');
  const roots: Sp[] = [];
  let node = listNextOrNull(t, kvm.tdp_mmu_roots, kvm.tdp_mmu_roots);
  while (node !== null) {
    roots.push(nodeToRoot(t, node)!);
    node = listNextOrNull(t, kvm.tdp_mmu_roots, node);
  }
  return roots;
}

// ---------------------------------------------------------------------------
// The TDP iterator and zap_gfn_range (1.4.2)

/** `struct tdp_iter` (the parts the model needs). */
interface TdpIter {
  readonly root: Sp;
  readonly min_level: number;
  /** Page tables from the root down to the current level (index = root level - level). */
  pt: Sp[];
  level: number;
  /** Index of the current entry in pt[current]. */
  idx: number;
  gfn: number;
  old_spte: number;
  next_last_level_gfn: number;
  yielded_gfn: number;
  valid: boolean;
}

/** Reads the current SPTE (one step; the caller yielded). */
function readSpte(t: SimThread, it: TdpIter): number {
  const sp = it.pt[it.pt.length - 1]!;
  return t.loadAt(sp, 'spt', it.idx);
}

/**
 * Positions `it` at the first present entry at or after index `from` in the
 * current table whose gfn is below `end`; non-present entries are passed in
 * the same step (see the model README: "iterator skips"). Returns false at
 * the end of the table.
 */
function scanSide(t: SimThread, it: TdpIter, from: number, end: number): boolean {
  const sp = it.pt[it.pt.length - 1]!;
  if (sp.freedBy !== null) t.ex.useAfterFree(t, sp, 'tdp_iter read spt');
  const base = it.gfn;
  for (let i = from; i < PT_ENTRIES; i++) {
    const g = entryGfn(base, it.level, i);
    if (g >= end) return false;
    const v = sp.spt[i]!;
    if (v !== 0) {
      it.idx = i;
      it.gfn = g;
      it.next_last_level_gfn = Math.max(it.next_last_level_gfn, g);
      it.old_spte = t.loadAt(sp, 'spt', i);
      return true;
    }
  }
  return false;
}

/** `tdp_iter_start` / `tdp_iter_restart`: descend from the root to the entry covering next_last_level_gfn. */
function* iterRestart(t: SimThread, it: TdpIter, start: number, end: number, label: string): Step {
  yield label;
  t.touch(it.root, 'tdp_iter_start');
  it.pt = [it.root];
  it.level = TDP_ROOT_LEVEL;
  const g = it.next_last_level_gfn;
  it.gfn = entryGfn(g, it.level, ptIndex(g, it.level)) - ptIndex(g, it.level) * entrySpan(it.level);
  it.valid = scanSide(t, it, ptIndex(Math.max(g, start), it.level), end);
}

/** `tdp_iter_next`: step down into a child table, else side, else up. One SPTE read per step. */
function* iterNext(t: SimThread, kvm: Kvm, it: TdpIter, end: number): Step {
  yield 'tdp_iter_next:sptep.load';
  // try_step_down: re-read the SPTE; descend if it points to a page table.
  if (it.level > it.min_level) {
    const cur = readSpte(t, it);
    if (isPresent(cur) && !isLeaf(cur)) {
      const child = kvm.frame(pfnOf(cur));
      if (child instanceof Sp) {
        it.pt.push(child);
        it.level--;
        if (scanSide(t, it, ptIndex(Math.max(it.gfn, it.next_last_level_gfn), it.level), end)) return;
        it.pt.pop();
        it.level++;
      }
    }
  }
  // try_step_side / try_step_up.
  for (;;) {
    const idx = it.idx;
    const base = it.gfn - (idx * entrySpan(it.level));
    it.gfn = base;
    if (idx + 1 < PT_ENTRIES && scanSide(t, it, idx + 1, end)) return;
    if (it.pt.length === 1) {
      it.valid = false;
      return;
    }
    it.pt.pop();
    it.level++;
    it.idx = ptIndex(base, it.level);
    it.gfn = entryGfn(base, it.level, it.idx);
  }
}

/**
 * `tdp_mmu_iter_cond_resched`: no yield unless the walk made progress since
 * the last yield; otherwise, if a reschedule is wanted (a model choice),
 * drop RCU, flush if asked, yield mmu_lock in the held mode, retake RCU,
 * WARN if the iterator ran ahead, and restart the walk from the root.
 */
function* tdp_mmu_iter_cond_resched(t: SimThread, kvm: Kvm, it: TdpIter, flush: boolean, shared: boolean, start: number, end: number): Step<boolean> {
  if (it.next_last_level_gfn === it.yielded_gfn) return false;
  if (t.choose(2, 'tdp_mmu_iter_cond_resched need_resched') === 0) return false;
  t.rcuReadUnlock();
  if (flush) yield* kvm_flush_remote_tlbs(t, kvm, 'tdp_mmu_iter_cond_resched');
  if (shared) yield* kvm.mmu_lock.condReschedRead(t, 'tdp_mmu_iter_cond_resched');
  else yield* kvm.mmu_lock.condReschedWrite(t, 'tdp_mmu_iter_cond_resched');
  t.rcuReadLock();
  t.warnOn(it.gfn > it.next_last_level_gfn, 'tdp_mmu_iter_cond_resched', 'iterator ran ahead of next_last_level_gfn',
    () => `iter.gfn ${it.gfn} > next_last_level_gfn ${it.next_last_level_gfn}`);
  it.yielded_gfn = it.next_last_level_gfn;
  yield* iterRestart(t, it, start, end, 'tdp_iter_restart:root.spt.load');
  return true;
}

/** `kvm_flush_remote_tlbs` (no TLB model: a labelled no-op step). */
export function* kvm_flush_remote_tlbs(_t: SimThread, _kvm: Kvm, fn: string): Step {
  yield label(fn, 'kvm_flush_remote_tlbs');
}

/**
 * `zap_gfn_range(kvm, root, start, end, can_yield, flush, shared)`: zap the
 * SPTEs mapping [start, end) in `root`; returns whether a TLB flush is
 * still needed. Write lock: plain stores; read lock: freeze with cmpxchg to
 * REMOVED_SPTE, then store 0 (retrying on a failed cmpxchg).
 */
export function* zap_gfn_range(t: SimThread, kvm: Kvm, root: Sp, start: number, end0: number, can_yield: boolean, flush0: boolean, shared: boolean): Step<boolean> {
  t.assertHeld(kvm.mmu_lock, shared ? 'read' : 'write', 'zap_gfn_range');
  const zap_all = start === 0 && end0 >= MAX_GFN;
  const end = Math.min(end0, MAX_GFN);
  let flush = flush0;
  const it: TdpIter = {
    root, min_level: zap_all ? TDP_ROOT_LEVEL : 1, pt: [root], level: TDP_ROOT_LEVEL, idx: 0, gfn: 0, old_spte: 0,
    next_last_level_gfn: start, yielded_gfn: start, valid: false,
  };
  t.rcuReadLock();
  yield* iterRestart(t, it, start, end, 'zap_gfn_range:tdp_iter_start');
  while (it.valid && it.gfn < end) {
    if (can_yield && (yield* tdp_mmu_iter_cond_resched(t, kvm, it, flush, shared, start, end))) {
      flush = false;
      continue;
    }
    const old = it.old_spte;
    if (!isPresent(old)) {
      yield* iterNext(t, kvm, it, end);
      continue;
    }
    // Unless zapping everything, a non-leaf SPTE covering more than the range is descended into.
    const covers = it.gfn >= start && it.gfn + entrySpan(it.level) <= end;
    if (!zap_all && !isLeaf(old) && !covers) {
      yield* iterNext(t, kvm, it, end);
      continue;
    }
    if (!zap_all && isLeaf(old) && !covers && it.level > 1) {
      yield* iterNext(t, kvm, it, end);
      continue;
    }
    const sp = it.pt[it.pt.length - 1]!;
    if (!shared) {
      yield 'zap_gfn_range:tdp_mmu_set_spte';
      t.storeAt(sp, 'spt', it.idx, 0);
      yield* handle_changed_spte(t, kvm, old, 0, it.level, it.gfn, false);
      flush = true;
    } else {
      yield 'tdp_mmu_zap_spte_atomic:cmpxchg';
      const seen = t.cmpxchgAt(sp, 'spt', it.idx, old, REMOVED_SPTE);
      if (seen !== old) {
        // Someone else changed it: re-read and retry this entry.
        it.old_spte = seen;
        yield 'zap_gfn_range:sptep.reload';
        it.old_spte = t.loadAt(sp, 'spt', it.idx);
        continue;
      }
      yield* handle_changed_spte(t, kvm, old, REMOVED_SPTE, it.level, it.gfn, true);
      yield* kvm_flush_remote_tlbs(t, kvm, 'tdp_mmu_zap_spte_atomic');
      yield 'tdp_mmu_zap_spte_atomic:store_zero';
      t.storeAt(sp, 'spt', it.idx, 0);
    }
    it.old_spte = 0;
    yield* iterNext(t, kvm, it, end);
  }
  t.rcuReadUnlock();
  return flush;
}

// ---------------------------------------------------------------------------
// Change handling (__handle_changed_spte) and removal of page tables

/**
 * `__handle_changed_spte` for an SPTE that went from `old` to `now` at
 * `level` for `gfn`. Present leaf → present leaf with another pfn is a BUG;
 * dirty/accessed bits dropped are recorded on the old page (kvm_set_pfn_dirty
 * / kvm_set_pfn_accessed — a use-after-free if that page was freed); a
 * removed page table is torn down.
 */
export function* handle_changed_spte(t: SimThread, kvm: Kvm, old: number, now: number, level: number, gfn: number, shared: boolean): Step {
  const wasPresent = isPresent(old);
  const isNowPresent = isPresent(now);
  const wasLeaf = wasPresent && isLeaf(old);
  const nowLeaf = isNowPresent && isLeaf(now);
  if (wasLeaf && nowLeaf && pfnOf(old) !== pfnOf(now)) {
    t.bugOn(true, '__handle_changed_spte', 'present leaf SPTE changed pfn',
      `gfn ${gfn} level ${level}: ${showSpte(old)} -> ${showSpte(now)}`);
  }
  if (!wasPresent && !isNowPresent) {
    // Expected only for MMIO and REMOVED_SPTE values.
    return;
  }
  if (wasLeaf && (!nowLeaf || pfnOf(old) !== pfnOf(now))) {
    const page = kvm.frame(pfnOf(old));
    if (isDirty(old) && (!isDirty(now) || !nowLeaf)) {
      yield 'handle_changed_spte_dirty_log:kvm_set_pfn_dirty';
      if (page instanceof Page) {
        t.touch(page, 'kvm_set_pfn_dirty');
        page.dirty = true;
      }
    }
    if (isAccessed(old) && (!nowLeaf || !isAccessed(now))) {
      yield 'handle_changed_spte_acc_track:kvm_set_pfn_accessed';
      if (page instanceof Page) {
        t.touch(page, 'kvm_set_pfn_accessed');
        page.accessed = true;
      }
    }
  }
  if (wasPresent && !wasLeaf && (!isNowPresent || pfnOf(old) !== pfnOf(now))) {
    const child = kvm.frame(pfnOf(old));
    if (child instanceof Sp) yield* call(handle_removed_tdp_mmu_page(t, kvm, child, shared));
  }
}

/**
 * `handle_removed_tdp_mmu_page(kvm, pt, shared)`: unlink the page table's SP
 * from tdp_mmu_pages, freeze and handle each child SPTE, flush, and free the
 * SP after a grace period. With `shared`, every entry is frozen with xchg to
 * REMOVED_SPTE (waiting while another thread has it frozen); the freezing of
 * all non-present entries is one step (model README, Limitations).
 */
export function* handle_removed_tdp_mmu_page(t: SimThread, kvm: Kvm, sp: Sp, shared: boolean): Step {
  // tdp_mmu_unlink_page
  if (shared) yield* kvm.tdp_mmu_pages_lock.lock(t, 'tdp_mmu_unlink_page');
  else t.assertHeld(kvm.mmu_lock, 'write', 'tdp_mmu_unlink_page');
  yield 'tdp_mmu_unlink_page:tdp_mmu_pages.list_del';
  listDel(t, sp.link);
  if (shared) yield* kvm.tdp_mmu_pages_lock.unlock(t, 'tdp_mmu_unlink_page');
  // With `shared`, entries that are 0 are frozen in one step (they need no
  // change handling); the others are xchg'd one by one, in index order,
  // spinning while another thread holds an entry frozen (it will store to it
  // again). Without it, each present entry in index order, read when the
  // loop reaches it (nextPresent passes the others within the step).
  const span = entrySpan(sp.level);
  const spt = sp.spt;
  if (shared) {
    yield 'handle_removed_tdp_mmu_page:freeze_non_present';
    t.touch(sp, 'handle_removed_tdp_mmu_page');
    // Every 0 entry becomes REMOVED_SPTE: the runs of zeros between the others filled at once.
    const rest: number[] = [];
    let from = 0;
    for (let i = nextNonZero(spt, 0); i < PT_ENTRIES; i = nextNonZero(spt, i + 1)) {
      spt.fill(REMOVED_SPTE, from, i);
      rest.push(i);
      from = i + 1;
    }
    spt.fill(REMOVED_SPTE, from, PT_ENTRIES);
    for (const i of rest) {
      let old: number;
      for (;;) {
        yield 'handle_removed_tdp_mmu_page:xchg';
        old = t.xchgAt(sp, 'spt', i, REMOVED_SPTE);
        if (!isRemoved(old)) break;
        yield spinPoint('handle_removed_tdp_mmu_page:cpu_relax');
      }
      yield* handle_changed_spte(t, kvm, old, REMOVED_SPTE, sp.level, sp.gfn + i * span, true);
    }
  } else {
    for (let i = nextPresent(spt, 0); i < PT_ENTRIES; i = nextPresent(spt, i + 1)) {
      const old = spt[i]!;
      yield 'handle_removed_tdp_mmu_page:store_removed';
      t.storeAt(sp, 'spt', i, REMOVED_SPTE);
      yield* handle_changed_spte(t, kvm, old, REMOVED_SPTE, sp.level, sp.gfn + i * span, false);
    }
  }
  yield* kvm_flush_remote_tlbs(t, kvm, 'handle_removed_tdp_mmu_page');
  yield 'handle_removed_tdp_mmu_page:call_rcu';
  tdp_mmu_free_sp_rcu(t, kvm, sp);
}

// ---------------------------------------------------------------------------
// Root allocation and unload (1.1.G)

/**
 * `kvm_tdp_mmu_get_vcpu_root_hpa`: reuse a valid root of the wanted role,
 * with a new reference, or allocate one (count 1 = the vCPU's reference) and
 * add it at the head of tdp_mmu_roots. Requires mmu_lock held for write.
 */
export function* kvm_tdp_mmu_get_vcpu_root_hpa(t: SimThread, kvm: Kvm, as_id: number): Step<Sp> {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_tdp_mmu_get_vcpu_root_hpa');
  const roots = yield* for_each_tdp_mmu_root(t, kvm, 'kvm_tdp_mmu_get_vcpu_root_hpa');
  for (const root of roots) {
    yield 'kvm_tdp_mmu_get_vcpu_root_hpa:root.role.load';
    // role.word never matches an invalid root, nor one of the other address space.
    if (t.load(root, 'role_invalid') || root.as_id !== as_id) continue;
    if (yield* kvm_tdp_mmu_get_root(t, kvm, root)) return root;
  }
  yield 'kvm_tdp_mmu_get_vcpu_root_hpa:alloc_tdp_mmu_page';
  const root = new Sp(kvm.ex, TDP_ROOT_LEVEL, true, 0, true, kvm.allocPfn(), kvm.mmu_valid_gen, `root R${++kvm.rootSeq}`);
  root.isRoot = true;
  root.as_id = as_id;
  kvm.frames.set(root.pfn, root);
  root.tdp_mmu_root_count.set(t, 1);
  yield* kvm.tdp_mmu_pages_lock.lock(t, 'kvm_tdp_mmu_get_vcpu_root_hpa');
  yield 'kvm_tdp_mmu_get_vcpu_root_hpa:tdp_mmu_roots.list_add';
  listAdd(t, root.link, kvm.tdp_mmu_roots);
  yield* kvm.tdp_mmu_pages_lock.unlock(t, 'kvm_tdp_mmu_get_vcpu_root_hpa');
  return root;
}

// ---------------------------------------------------------------------------
// Fast zap pieces (1.2.K, 3.4)

/** The fast zap's on-stack list head (`LIST_HEAD(invalidated_roots)`), freed when the function returns. */
export class StackListHead extends KObject {
  readonly head: ListNode;
  constructor(kvm: Kvm) {
    super(kvm.ex, 'stack frame', 'invalidated_roots (stack)');
    this.head = ListNode.head(this, 'invalidated_roots');
  }
}

/**
 * `kvm_tdp_mmu_invalidate_all_roots` (write lock). Off: take a reference on
 * each root on tdp_mmu_roots that still has one and mark it invalid (roots
 * already invalid get another reference). On: for each root that
 * kvm_tdp_mmu_get_root accepts, move it onto the caller's local list,
 * WARN_ON_ONCE if it was already invalid, and mark it invalid.
 */
export function* kvm_tdp_mmu_invalidate_all_roots(t: SimThread, kvm: Kvm, local: StackListHead | null): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_tdp_mmu_invalidate_all_roots');
  const roots = yield* for_each_tdp_mmu_root(t, kvm, 'kvm_tdp_mmu_invalidate_all_roots');
  for (const root of roots) {
    if (local === null) {
      yield 'kvm_tdp_mmu_invalidate_all_roots:root.tdp_mmu_root_count.inc_not_zero';
      if (root.tdp_mmu_root_count.incNotZero(t)) {
        yield 'kvm_tdp_mmu_invalidate_all_roots:root.role.invalid.store';
        t.store(root, 'role_invalid', true);
      }
    } else {
      if (!(yield* kvm_tdp_mmu_get_root(t, kvm, root))) continue;
      yield 'kvm_tdp_mmu_invalidate_all_roots:list_move_tail';
      listMoveTail(t, root.link, local.head);
      yield 'kvm_tdp_mmu_invalidate_all_roots:root.role.invalid.load';
      t.warnOnOnce(t.load(root, 'role_invalid'), 'kvm_tdp_mmu_invalidate_all_roots', 'root already invalid',
        () => `${root.name} is already invalid when the fast zap invalidates it`);
      yield 'kvm_tdp_mmu_invalidate_all_roots:root.role.invalid.store';
      t.store(root, 'role_invalid', true);
    }
  }
}

/**
 * `next_invalidated_root(kvm, prev_root)` (off side; caller holds RCU): the
 * first root after `prev_root` that is invalid and still referenced.
 */
function* next_invalidated_root(t: SimThread, kvm: Kvm, prev: Sp | null): Step<Sp | null> {
  yield 'next_invalidated_root:list_next_or_null_rcu';
  let node = listNextOrNull(t, kvm.tdp_mmu_roots, prev === null ? kvm.tdp_mmu_roots : prev.link);
  while (node !== null) {
    const root = nodeToRoot(t, node)!;
    yield 'next_invalidated_root:root.role.invalid.load';
    if (t.load(root, 'role_invalid')) {
      yield 'next_invalidated_root:root.tdp_mmu_root_count.read';
      if (root.tdp_mmu_root_count.read(t) > 0) return root;
    }
    yield 'next_invalidated_root:list_next_or_null_rcu';
    node = listNextOrNull(t, kvm.tdp_mmu_roots, node);
  }
  return null;
}

/**
 * `kvm_tdp_mmu_zap_invalidated_roots` — caller holds mmu_lock for read.
 * Off: find invalid roots on tdp_mmu_roots and put the reference the fast
 * zap took on each. On: zap and put each root of the local list (safe
 * iteration, no RCU); also asserts slots_lock.
 */
export function* kvm_tdp_mmu_zap_invalidated_roots(t: SimThread, kvm: Kvm, local: StackListHead | null): Step {
  t.assertHeld(kvm.mmu_lock, 'read', 'kvm_tdp_mmu_zap_invalidated_roots');
  if (local === null) {
    t.rcuReadLock();
    let root = yield* next_invalidated_root(t, kvm, null);
    while (root !== null) {
      const next = yield* next_invalidated_root(t, kvm, root);
      t.rcuReadUnlock();
      yield* call(zap_gfn_range(t, kvm, root, 0, MAX_GFN, true, false, true));
      yield* call(kvm_tdp_mmu_put_root(t, kvm, root, true));
      root = next;
      t.rcuReadLock();
    }
    t.rcuReadUnlock();
    return;
  }
  t.assertHeld(kvm.slots_lock, 'any', 'kvm_tdp_mmu_zap_invalidated_roots');
  const safe = !kvm.variant('roots-off-list:unsafe-iter');
  yield 'kvm_tdp_mmu_zap_invalidated_roots:list_first_entry';
  let node = listNextOrNull(t, local.head, local.head);
  let next = safe && node !== null ? listNextOrNull(t, local.head, node) : null;
  while (node !== null) {
    const root = node.owner as Sp;
    yield* call(zap_gfn_range(t, kvm, root, 0, MAX_GFN, true, false, true));
    yield* call(kvm_tdp_mmu_put_root(t, kvm, root, true));
    if (safe) {
      node = next;
      if (node !== null) {
        yield 'kvm_tdp_mmu_zap_invalidated_roots:list_next_entry';
        next = listNextOrNull(t, local.head, node);
      }
    } else {
      yield 'kvm_tdp_mmu_zap_invalidated_roots:list_next_entry';
      node = listNextOrNull(t, local.head, root.link);
    }
  }
}

/**
 * `kvm_tdp_mmu_write_protect_gfn(kvm, slot, gfn, PG_LEVEL_4K)` (write lock):
 * clear the W bit of `gfn`'s leaf in every root on tdp_mmu_roots. Returns
 * whether an SPTE changed.
 */
export function* kvm_tdp_mmu_write_protect_gfn(t: SimThread, kvm: Kvm, gfn: number): Step<boolean> {
  const roots = yield* for_each_tdp_mmu_root(t, kvm, 'kvm_tdp_mmu_write_protect_gfn');
  let changed = false;
  for (const root of roots) {
    let sp: Sp = root;
    for (let level = TDP_ROOT_LEVEL; level >= 1; level--) {
      const idx = ptIndex(gfn, level);
      yield 'write_protect_gfn:iter.sptep.load';
      const old = t.loadAt(sp, 'spt', idx);
      if (!isPresent(old)) break;
      if (isLeaf(old)) {
        const now = writeProtected(old);
        if (now !== old) {
          yield 'write_protect_gfn:tdp_mmu_set_spte';
          t.storeAt(sp, 'spt', idx, now);
          changed = true;
        }
        break;
      }
      const child = kvm.frame(pfnOf(old));
      if (!(child instanceof Sp)) break;
      sp = child;
    }
  }
  return changed;
}

/**
 * `kvm_tdp_mmu_zap_gfn_range(kvm, as_id, start, end, can_yield, flush)` —
 * write lock: zap [start, end) in every valid root of `as_id`; returns flush.
 * (The notifier's handler `kvm_tdp_mmu_unmap_gfn_range` is the same walk.)
 */
export function* kvm_tdp_mmu_zap_gfn_range(t: SimThread, kvm: Kvm, as_id: number, start: number, end: number, can_yield: boolean, flush0: boolean): Step<boolean> {
  return yield* call(for_each_tdp_mmu_root_yield_safe(t, kvm, as_id, false,
    (root, flush) => zap_gfn_range(t, kvm, root, start, end, can_yield, flush, false), flush0));
}

