/**
 * Shadow-MMU pieces for nested TDP (arch/x86/kvm/mmu/mmu.c, late 2021):
 * indirect shadow pages in the page hash, `parent_ptes`, unsync marking
 * from TDP MMU faults (seed 000, both sides of `tdp-unsync-lock` and its
 * claim variants), the sync walk (`mmu_sync_children`), rmaps with their
 * lazy-allocation gate (seed 004), and the nested-EPT page fault that builds
 * indirect SPs. L1's EPT12 tables are modelled with 3 levels (the spec's
 * collapsed R → P → S shape; see the model README).
 */
import { call, type SimThread, type Step } from '../runtime';
import { label } from '../runtime/label-memo';
import type { GuestPt, Kvm } from './kvm';
import type { Memslot, Rmap } from './memslots';
import { kvm_mmu_prepare_zap_page } from './fast-zap';
import { mmu_first_shadow_root_alloc } from './memslot-ops';
import { type ParentPte, Sp, bitmapIndexes, bitmapPopcount } from './mmu-page';
import { Page } from './primary-mm';
import { isLeaf, isPresent, isWritable, makeLeaf, makeNonLeaf, nextPresent, pfnOf, ptIndex, writeProtected } from './spte';
import { kvm_flush_remote_tlbs, kvm_tdp_mmu_write_protect_gfn } from './tdp-mmu';
import { KVM_REQ_MMU_SYNC, type Vcpu } from './vcpu';

/** Root level of the modelled nested EPT12 (and of its shadow pages). */
export const NESTED_ROOT_LEVEL = 3;
/** KVM_PAGE_ARRAY_NR: entries of `struct kvm_mmu_pages`. */
export const KVM_PAGE_ARRAY_NR = 16;
const INVALID_INDEX = -1;

const bit = (i: number): bigint => 1n << BigInt(i % 64);

// ---------------------------------------------------------------------------
// Rmaps and their gate (seed 004)

/**
 * `kvm_memslots_have_rmaps(kvm)`. On (the slots_arch_lock design): the TDP
 * MMU is off or `shadow_root_allocated` is set (load-acquire). Off (Ben's
 * v1 design): `shadow_mmu_active`.
 */
export function* kvm_memslots_have_rmaps(t: SimThread, kvm: Kvm, fn: string): Step<boolean> {
  if (kvm.config.switches['slots-arch-lock']) {
    yield label(fn, 'kvm->arch.shadow_root_allocated.load_acquire');
    return !kvm.tdpMmuEnabled || t.load(kvm, 'shadow_root_allocated');
  }
  yield label(fn, 'kvm->arch.shadow_mmu_active.load');
  return t.load(kvm, 'shadow_mmu_active');
}

/** `gfn_to_rmap(gfn, level, slot)`: dereferences `slot->arch.rmap[0]` — a NULL crash when it was never allocated. */
export function gfn_to_rmap(t: SimThread, slot: Memslot, gfn: number): Rmap {
  const rmap = t.deref(slot.arch.rmap, 'slot->arch.rmap[0]', `slot ${slot.id}, gfn ${gfn}`);
  t.touch(rmap, 'gfn_to_rmap');
  return rmap;
}

/** `rmap_add(vcpu, slot, spte, gfn)` — mmu_lock held for write. */
export function* rmap_add(t: SimThread, kvm: Kvm, slot: Memslot, pte: ParentPte, gfn: number): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'rmap_add');
  yield 'rmap_add:rmap_head.add';
  const rmap = gfn_to_rmap(t, slot, gfn);
  const list = rmap.entries.get(gfn) ?? [];
  list.push(pte);
  rmap.entries.set(gfn, list);
  if (t.ex.tracing) t.note(`rmap ${rmap.name}[${gfn}] += ${pte.sp.name}[${pte.idx}]`);
}

/**
 * `kvm_mmu_slot_gfn_write_protect(kvm, slot, gfn, PG_LEVEL_4K)` — write lock:
 * clear W in the gfn's rmap SPTEs (if rmaps exist) and in every TDP MMU root.
 */
export function* kvm_mmu_slot_gfn_write_protect(t: SimThread, kvm: Kvm, slot: Memslot | null, gfn: number): Step<boolean> {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_mmu_slot_gfn_write_protect');
  let changed = false;
  if (slot !== null && (yield* kvm_memslots_have_rmaps(t, kvm, 'kvm_mmu_slot_gfn_write_protect'))) {
    yield '__rmap_write_protect:rmap_head.load';
    const rmap = gfn_to_rmap(t, slot, gfn);
    for (const pte of rmap.entries.get(gfn) ?? []) {
      yield '__rmap_write_protect:spte.store';
      const old = t.loadAt(pte.sp, 'spt', pte.idx);
      if (isWritable(old)) {
        t.storeAt(pte.sp, 'spt', pte.idx, writeProtected(old));
        changed = true;
      }
    }
  }
  if (yield* call(kvm_tdp_mmu_write_protect_gfn(t, kvm, gfn))) changed = true;
  return changed;
}

/** `rmap_write_protect(vcpu, gfn)`. */
export function* rmap_write_protect(t: SimThread, kvm: Kvm, gfn: number): Step<boolean> {
  const slot = kvm.memslots.find(gfn);
  return yield* call(kvm_mmu_slot_gfn_write_protect(t, kvm, slot, gfn));
}

/**
 * `kvm_unmap_rmapp` over [start, end) of `slot` — write lock: zap every
 * shadow SPTE the rmaps record for those gfns and empty the rmap heads.
 */
export function* kvm_zap_rmapp_range(t: SimThread, kvm: Kvm, slot: Memslot, start: number, end: number): Step<boolean> {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_zap_rmapp');
  yield 'kvm_zap_rmapp:rmap_head.load';
  const rmap = gfn_to_rmap(t, slot, start);
  let flush = false;
  for (const [gfn, ptes] of [...rmap.entries]) {
    if (gfn < start || gfn >= end) continue;
    for (const pte of ptes) {
      yield 'kvm_zap_rmapp:mmu_spte_clear_track_bits';
      const old = t.loadAt(pte.sp, 'spt', pte.idx);
      if (isPresent(old)) {
        t.storeAt(pte.sp, 'spt', pte.idx, 0);
        const page = kvm.frame(pfnOf(old));
        if (page instanceof Page) t.touch(page, 'kvm_set_pfn_accessed');
        flush = true;
      }
    }
    rmap.entries.delete(gfn);
  }
  return flush;
}

/** `kvm_slot_page_track_add_page(kvm, slot, gfn, KVM_PAGE_TRACK_WRITE)` — write lock. */
export function* kvm_slot_page_track_add_page(t: SimThread, kvm: Kvm, slot: Memslot | null, gfn: number): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_slot_page_track_add_page');
  if (slot === null) return;
  yield 'update_gfn_track:slot->arch.gfn_track.store';
  if (!slot.arch.write_track) t.deref(null, 'slot->arch.gfn_track[KVM_PAGE_TRACK_WRITE]', `slot ${slot.id}, gfn ${gfn}`);
  kvm.write_tracked.set(gfn, (kvm.write_tracked.get(gfn) ?? 0) + 1);
  if (yield* call(kvm_mmu_slot_gfn_write_protect(t, kvm, slot, gfn))) yield* kvm_flush_remote_tlbs(t, kvm, 'kvm_slot_page_track_add_page');
}

// ---------------------------------------------------------------------------
// Unsync marking (seed 000)

/** Indirect, valid SPs shadowing `gfn` (`for_each_gfn_indirect_valid_sp`), read from the hash bucket. */
function indirectValidSps(kvm: Kvm, gfn: number): Sp[] {
  return (kvm.mmu_page_hash.get(gfn) ?? []).filter((sp) => !sp.direct && !sp.freed && !isObsolete(kvm, sp));
}

/** `is_obsolete_sp`: invalid, or created in another mmu_valid_gen. */
export function isObsolete(kvm: Kvm, sp: Sp): boolean {
  return sp.role_invalid || sp.mmu_valid_gen !== kvm.mmu_valid_gen;
}

/**
 * `mmu_try_to_unsync_pages(kvm, slot, gfn, can_unsync, prefetch)`: returns
 * true when the new SPTE must be write-protected. Called from make_spte
 * with mmu_lock held for read (TDP MMU faults) or write (shadow faults).
 *
 * Off (before ce25681d59): nothing serialises two callers under the read
 * lock. On: the first SP that is not unsync takes mmu_unsync_pages_lock
 * (once per call) and re-checks `unsync` under it.
 */
export function* mmu_try_to_unsync_pages(t: SimThread, kvm: Kvm, slot: Memslot | null, gfn: number, can_unsync: boolean, prefetch: boolean): Step<boolean> {
  t.assertHeld(kvm.mmu_lock, 'any', 'mmu_try_to_unsync_pages');
  // T1
  yield 'mmu_try_to_unsync_pages:kvm_slot_page_track_is_active';
  if ((kvm.write_tracked.get(gfn) ?? 0) > 0 && slot !== null) return true;
  const on = kvm.config.switches['tdp-unsync-lock'];
  const atomics = kvm.variant('tdp-unsync-lock:atomics');
  const lock = kvm.variant('tdp-unsync-lock:tdp-mmu-pages-lock') ? kvm.tdp_mmu_pages_lock : kvm.mmu_unsync_pages_lock;
  const useLock = on && !(kvm.variant('tdp-unsync-lock:read-lock-only') && kvm.mmu_lock.isWriteHeldBy(t));
  let locked = false;
  // T2
  yield 'mmu_try_to_unsync_pages:mmu_page_hash.load';
  const sps = indirectValidSps(kvm, gfn);
  for (const sp of sps) {
    // T3
    if (!can_unsync) {
      if (locked) yield* lock.unlock(t, 'mmu_try_to_unsync_pages');
      return true;
    }
    // T4
    yield 'mmu_try_to_unsync_pages:sp.unsync.load';
    if (t.load(sp, 'unsync')) continue;
    if (prefetch) {
      if (locked) yield* lock.unlock(t, 'mmu_try_to_unsync_pages');
      return true;
    }
    if (useLock && !locked) {
      locked = true;
      if (kvm.mmu_lock.isWriteHeldBy(t)) {
        // Claim: "If mmu_lock is held for write, there cannot be contention for the inner spinlock."
        t.invariant(lock.isFree, 'unsync-lock-contended-under-write', `${lock.name} contended while mmu_lock is held for write`,
          () => `${t.name} holds mmu_lock for write but ${lock.name} is held by ${lock.owner?.name}`);
      }
      yield* lock.lock(t, 'mmu_try_to_unsync_pages');
      yield 'mmu_try_to_unsync_pages:READ_ONCE(sp.unsync)';
      if (t.load(sp, 'unsync')) continue;
    }
    // T5
    t.warnOn(sp.level !== 1, 'mmu_try_to_unsync_pages', 'unsync of a non-4K shadow page', () => `${sp.name} has level ${sp.level}`);
    // T6
    yield* kvm_unsync_page(t, kvm, sp, atomics);
  }
  if (locked) yield* lock.unlock(t, 'mmu_try_to_unsync_pages');
  // T7: smp_wmb(); the caller then makes the SPTE writable.
  return false;
}

/** `kvm_unsync_page`: ++stat.mmu_unsync (load, store), sp->unsync = 1, mark the parents. */
function* kvm_unsync_page(t: SimThread, kvm: Kvm, sp: Sp, atomics: boolean): Step {
  if (atomics) {
    yield 'kvm_unsync_page:stat.mmu_unsync.atomic_inc';
    t.atomicAdd(kvm, 'stat_mmu_unsync', 1);
  } else {
    yield 'kvm_unsync_page:stat.mmu_unsync.load';
    const n = t.load(kvm, 'stat_mmu_unsync');
    yield 'kvm_unsync_page:stat.mmu_unsync.store';
    t.store(kvm, 'stat_mmu_unsync', n + 1);
  }
  yield 'kvm_unsync_page:sp.unsync.store';
  t.store(sp, 'unsync', true);
  yield* kvm_mmu_mark_parents_unsync(t, kvm, sp, atomics);
}

/** `kvm_mmu_mark_parents_unsync(sp)`: mark_unsync on every parent SPTE of `sp`. */
function* kvm_mmu_mark_parents_unsync(t: SimThread, kvm: Kvm, sp: Sp, atomics: boolean): Step {
  for (const p of [...sp.parent_ptes]) yield* mark_unsync(t, kvm, p, atomics);
}

/**
 * `mark_unsync(spte)` on parent SP `P` at index `i`: `__test_and_set_bit`
 * (a word load and a word store), then `if (P->unsync_children++) return`
 * (a load and a store), then recurse upward.
 */
function* mark_unsync(t: SimThread, kvm: Kvm, p: ParentPte, atomics: boolean): Step {
  const P = p.sp;
  const w = p.idx >> 6;
  let old: bigint;
  if (atomics) {
    yield 'mark_unsync:P.unsync_child_bitmap.test_and_set_bit';
    old = t.loadAt(P, 'unsync_child_bitmap', w);
    t.storeAt(P, 'unsync_child_bitmap', w, old | bit(p.idx));
  } else {
    yield 'mark_unsync:P.unsync_child_bitmap.load';
    old = t.loadAt(P, 'unsync_child_bitmap', w);
    yield 'mark_unsync:P.unsync_child_bitmap.store';
    t.storeAt(P, 'unsync_child_bitmap', w, old | bit(p.idx));
  }
  if ((old & bit(p.idx)) !== 0n) return;
  let c: number;
  if (atomics) {
    yield 'mark_unsync:P.unsync_children.atomic_inc';
    c = t.atomicAdd(P, 'unsync_children', 1) - 1;
  } else {
    yield 'mark_unsync:P.unsync_children.load';
    c = t.load(P, 'unsync_children');
    yield 'mark_unsync:P.unsync_children.store';
    t.store(P, 'unsync_children', (c + 1) >>> 0);
  }
  if (c !== 0) return;
  yield* kvm_mmu_mark_parents_unsync(t, kvm, P, atomics);
}

// ---------------------------------------------------------------------------
// Sync (1.1.F) — all under mmu_lock held for write

/**
 * `clear_unsync_child_bit(sp, idx)`: `--sp->unsync_children` (an unsigned
 * int: a load and a store), `WARN_ON((int)sp->unsync_children < 0)`,
 * `__clear_bit(idx, sp->unsync_child_bitmap)`.
 */
function* clear_unsync_child_bit(t: SimThread, kvm: Kvm, sp: Sp, idx: number): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'clear_unsync_child_bit');
  yield 'clear_unsync_child_bit:sp.unsync_children.load';
  const c = t.load(sp, 'unsync_children');
  yield 'clear_unsync_child_bit:sp.unsync_children.store';
  const now = (c - 1) >>> 0;
  t.store(sp, 'unsync_children', now);
  t.warnOn((now | 0) < 0, 'clear_unsync_child_bit', 'unsync_children underflow',
    () => `${sp.name}.unsync_children went from ${c} to 0x${now.toString(16)} clearing bit ${idx}; bitmap now {${bitmapIndexes(sp.unsync_child_bitmap).join(', ')}}`);
  yield 'clear_unsync_child_bit:sp.unsync_child_bitmap.load';
  const w = t.loadAt(sp, 'unsync_child_bitmap', idx >> 6);
  yield 'clear_unsync_child_bit:sp.unsync_child_bitmap.store';
  t.storeAt(sp, 'unsync_child_bitmap', idx >> 6, w & ~bit(idx));
}

interface PvecEntry {
  sp: Sp;
  idx: number;
}

/** `mmu_pages_add`: returns true when the vector is full. */
function mmu_pages_add(pvec: PvecEntry[], sp: Sp, idx: number): boolean {
  if (sp.unsync) for (const e of pvec) if (e.sp === sp) return false;
  pvec.push({ sp, idx });
  return pvec.length === KVM_PAGE_ARRAY_NR;
}

/** `__mmu_unsync_walk(sp, pvec)`: number of unsync leaves found, or -1 (-ENOSPC) when the vector filled. */
function* __mmu_unsync_walk(t: SimThread, kvm: Kvm, sp: Sp, pvec: PvecEntry[]): Step<number> {
  let nr_unsync_leaf = 0;
  yield '__mmu_unsync_walk:sp.unsync_child_bitmap.load';
  const bits = bitmapIndexes(sp.unsync_child_bitmap);
  t.touch(sp, '__mmu_unsync_walk');
  for (const i of bits) {
    // for_each_set_bit re-reads the bitmap as it goes; bits cleared meanwhile are skipped.
    if ((sp.unsync_child_bitmap[i >> 6]! & bit(i)) === 0n) continue;
    yield '__mmu_unsync_walk:sp.spt.load';
    const ent = t.loadAt(sp, 'spt', i);
    if (!isPresent(ent) || isLeaf(ent)) {
      yield* clear_unsync_child_bit(t, kvm, sp, i);
      continue;
    }
    const child = kvm.frame(pfnOf(ent));
    if (!(child instanceof Sp)) {
      yield* clear_unsync_child_bit(t, kvm, sp, i);
      continue;
    }
    yield '__mmu_unsync_walk:child.unsync_children.load';
    if (t.load(child, 'unsync_children') !== 0) {
      if (mmu_pages_add(pvec, child, i)) return -1;
      const ret = yield* __mmu_unsync_walk(t, kvm, child, pvec);
      if (ret === 0) {
        yield* clear_unsync_child_bit(t, kvm, sp, i);
        continue;
      } else if (ret > 0) {
        nr_unsync_leaf += ret;
      } else {
        return ret;
      }
    } else {
      yield '__mmu_unsync_walk:child.unsync.load';
      if (t.load(child, 'unsync')) {
        nr_unsync_leaf++;
        if (mmu_pages_add(pvec, child, i)) return -1;
      } else {
        yield* clear_unsync_child_bit(t, kvm, sp, i);
      }
    }
  }
  return nr_unsync_leaf;
}

/** `mmu_unsync_walk(sp, pvec)`. */
function* mmu_unsync_walk(t: SimThread, kvm: Kvm, sp: Sp, pvec: PvecEntry[]): Step<number> {
  pvec.length = 0;
  yield 'mmu_unsync_walk:sp.unsync_children.load';
  if (t.load(sp, 'unsync_children') === 0) return 0;
  mmu_pages_add(pvec, sp, INVALID_INDEX);
  return yield* __mmu_unsync_walk(t, kvm, sp, pvec);
}

/** `struct mmu_page_path` indexed by level - 1. */
interface PagePath {
  parent: (Sp | null)[];
  idx: number[];
}

/**
 * `mmu_sync_children(vcpu, parent, can_yield)`: while the unsync walk
 * collects pages: write-protect every collected leaf's gfn, then unlink,
 * sync and clear the parents' bits for each leaf (continuing upward only
 * while a parent's count reaches 0); between batches, maybe yield the write
 * lock, or with `can_yield` false request KVM_REQ_MMU_SYNC and fail.
 */
export function* mmu_sync_children(t: SimThread, kvm: Kvm, vcpu: Vcpu, parent: Sp, can_yield: boolean): Step<boolean> {
  t.assertHeld(kvm.mmu_lock, 'write', 'mmu_sync_children');
  const pages: PvecEntry[] = [];
  let flush = false;
  for (;;) {
    // while (mmu_unsync_walk(parent, &pages)): the walk's return value (leaves found, or -ENOSPC).
    const n = yield* mmu_unsync_walk(t, kvm, parent, pages);
    if (n === 0) break;
    // Walk the vector as for_each_sp does: track the path, act on 4K leaves.
    const batch = pages.slice();
    let isProtected = false;
    for (const e of batch) if (e.sp.level === 1) isProtected = (yield* rmap_write_protect(t, kvm, e.sp.gfn)) || isProtected;
    if (isProtected) {
      yield* kvm_flush_remote_tlbs(t, kvm, 'mmu_sync_children');
      flush = false;
    }
    // for_each_sp: mmu_pages_first, then mmu_pages_next stopping at 4K leaves.
    const parents: PagePath = { parent: [null, null, null, null, null], idx: [0, 0, 0, 0, 0] };
    const root = batch[0]!;
    t.warnOn(root.idx !== INVALID_INDEX, 'mmu_pages_first', 'first entry is not the walk root', 'pvec[0].idx != INVALID_INDEX');
    t.warnOn(root.sp.level === 1, 'mmu_pages_first', 'walk root is a 4K page', root.sp.name);
    parents.parent[root.sp.level - 2] = root.sp;
    parents.parent[root.sp.level - 1] = null;
    for (let n2 = 1; n2 < batch.length; n2++) {
      const e = batch[n2]!;
      const level = e.sp.level;
      parents.idx[level - 1] = e.idx;
      if (level !== 1) {
        parents.parent[level - 2] = e.sp;
        continue;
      }
      yield* kvm_unlink_unsync_page(t, kvm, e.sp);
      flush = (yield* kvm_sync_page(t, kvm, e.sp)) || flush;
      yield* mmu_pages_clear_parents(t, kvm, parents);
    }
    if (t.choose(2, 'mmu_sync_children need_resched') === 1) {
      if (flush) yield* kvm_flush_remote_tlbs(t, kvm, 'kvm_mmu_flush_or_zap');
      if (!can_yield) {
        yield 'mmu_sync_children:kvm_make_request(KVM_REQ_MMU_SYNC)';
        t.store(vcpu, 'requests', vcpu.requests | KVM_REQ_MMU_SYNC);
        return false;
      }
      yield* kvm.mmu_lock.condReschedWrite(t, 'mmu_sync_children');
      flush = false;
    }
  }
  if (flush) yield* kvm_flush_remote_tlbs(t, kvm, 'kvm_mmu_flush_or_zap');
  return true;
}

/** `mmu_pages_clear_parents(parents)`: clear the path's bits upward while counts reach 0. */
export function* mmu_pages_clear_parents(t: SimThread, kvm: Kvm, parents: PagePath): Step {
  let level = 0;
  let sp: Sp | null;
  do {
    const idx = parents.idx[level]!;
    sp = parents.parent[level] ?? null;
    if (sp === null) return;
    t.warnOn(idx === INVALID_INDEX, 'mmu_pages_clear_parents', 'invalid index in the page path', `level ${level}`);
    yield* clear_unsync_child_bit(t, kvm, sp, idx);
    level++;
    yield 'mmu_pages_clear_parents:sp.unsync_children.load';
  } while (t.load(sp, 'unsync_children') === 0);
}

/** `kvm_unlink_unsync_page`: WARN if not unsync; unsync = 0; --stat.mmu_unsync. */
export function* kvm_unlink_unsync_page(t: SimThread, kvm: Kvm, sp: Sp): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_unlink_unsync_page');
  yield 'kvm_unlink_unsync_page:sp.unsync.load';
  t.warnOn(!t.load(sp, 'unsync'), 'kvm_unlink_unsync_page', 'unlinking a page that is not unsync', `${sp.name}`);
  yield 'kvm_unlink_unsync_page:sp.unsync.store';
  t.store(sp, 'unsync', false);
  yield 'kvm_unlink_unsync_page:stat.mmu_unsync.load';
  const n = t.load(kvm, 'stat_mmu_unsync');
  yield 'kvm_unlink_unsync_page:stat.mmu_unsync.store';
  t.store(kvm, 'stat_mmu_unsync', n - 1);
}

/** `kvm_sync_page`: re-read the guest page table into the SP (model: adopt the guest table's version). */
function* kvm_sync_page(t: SimThread, kvm: Kvm, sp: Sp): Step<boolean> {
  yield 'kvm_sync_page:guest_pt.read';
  const gpt = kvm.guest_pts.get(sp.gfn);
  const v = gpt === undefined ? 0 : t.load(gpt, 'version');
  t.store(sp, 'synced_version', v);
  return true;
}

/** `is_unsync_root(root)`: smp_rmb(); root->unsync || root->unsync_children (lockless). */
function* is_unsync_root(t: SimThread, root: Sp): Step<boolean> {
  yield 'is_unsync_root:root.unsync.load';
  const u = t.load(root, 'unsync');
  yield 'is_unsync_root:root.unsync_children.load';
  const c = t.load(root, 'unsync_children');
  return u || c !== 0;
}

/**
 * `kvm_mmu_sync_roots(vcpu)` for the nested guest MMU: return if there is no
 * root; lockless pre-check; then sync under the write lock. When it returns,
 * the guest's TLB flush is complete: every SP reachable from the root must
 * reflect every guest page-table write that completed before that flush,
 * at the moment of the guest's flush (oracle 4, which also covers an early
 * exit at the pre-check, oracle 5; the flush is L1's INVEPT, recorded by the
 * vCPU in `flush_versions`).
 */
export function* kvm_mmu_sync_roots(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  yield 'kvm_mmu_sync_roots:vcpu->arch.mmu->root_hpa.load';
  const root = t.load(vcpu, 'guest_root_hpa');
  if (root === null) return;
  if (yield* is_unsync_root(t, root)) {
    yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_sync_roots');
    yield* call(mmu_sync_children(t, kvm, vcpu, root, true));
    yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_sync_roots');
  }
  // The guest's flush (its INVEPT) promised that every write before it is visible now.
  if (vcpu.flush_versions !== null) checkSyncedAfterFlush(t, kvm, root, vcpu.flush_versions);
}

/**
 * Oracle 4 (seed 000): when a sync following the guest's TLB flush returns,
 * no reachable SP is older than the guest table it shadows was at the flush.
 */
function checkSyncedAfterFlush(t: SimThread, kvm: Kvm, root: Sp, before: Map<number, number>): void {
  for (const sp of reachableShadow(kvm, root)) {
    const v = before.get(sp.gfn);
    if (v === undefined || sp.level === NESTED_ROOT_LEVEL) continue;
    t.invariant(sp.synced_version >= v, 'missed-sync', 'guest page-table write not synced after its TLB flush',
      () => `${sp.name} (gfn ${sp.gfn}, unsync=${sp.unsync}) shadows guest table version ${sp.synced_version} but the guest wrote version ${v} before the flush: L2 keeps a stale translation (guest memory corruption)`);
  }
}

/** SPs reachable from `root` through present non-leaf shadow SPTEs (no steps; for oracles). */
export function reachableShadow(kvm: Kvm, root: Sp): Sp[] {
  const out: Sp[] = [];
  const seen = new Set<Sp>();
  const walk = (sp: Sp): void => {
    if (seen.has(sp) || sp.freed) return;
    seen.add(sp);
    out.push(sp);
    if (sp.level === 1) return;
    for (let i = nextPresent(sp.spt, 0); i < sp.spt.length; i = nextPresent(sp.spt, i + 1)) {
      const e = sp.spt[i]!;
      if (!isLeaf(e)) {
        const c = kvm.frame(pfnOf(e));
        if (c instanceof Sp) walk(c);
      }
    }
  };
  walk(root);
  return out;
}

// ---------------------------------------------------------------------------
// Building indirect shadow pages: the nested EPT fault (1.1.C, 1.1.D)

/**
 * `kvm_mmu_get_page(vcpu, gfn, level, direct = false)` — write lock: reuse
 * the valid indirect SP for (gfn, level), syncing it first if it is unsync,
 * or create one: add it to the hash, write-track its gfn if it shadows an
 * upper-level table, or write-protect its gfn if it is a 4K table.
 */
export function* kvm_mmu_get_page(t: SimThread, kvm: Kvm, gfn: number, level: number): Step<Sp> {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_mmu_get_page');
  yield 'kvm_mmu_get_page:mmu_page_hash.load';
  for (const sp of kvm.mmu_page_hash.get(gfn) ?? []) {
    if (sp.freed || isObsolete(kvm, sp) || sp.direct || sp.level !== level) continue;
    if (sp.unsync) {
      yield* kvm_sync_page(t, kvm, sp);
      yield* kvm_flush_remote_tlbs(t, kvm, 'kvm_mmu_get_page');
    }
    return sp;
  }
  const sp = new Sp(kvm.ex, level, false, gfn, false, kvm.allocPfn(), kvm.mmu_valid_gen, `S${++kvm.spSeq}@${gfn}`);
  kvm.frames.set(sp.pfn, sp);
  yield 'kvm_mmu_get_page:mmu_page_hash.add';
  const bucket = kvm.mmu_page_hash.get(gfn) ?? [];
  bucket.push(sp);
  kvm.mmu_page_hash.set(gfn, bucket);
  kvm.active_mmu_pages.push(sp);
  // account_shadowed / write protection of the shadowed guest table.
  const slot = kvm.memslots.find(gfn);
  if (level > 1) {
    yield* kvm_slot_page_track_add_page(t, kvm, slot, gfn);
  } else if (yield* rmap_write_protect(t, kvm, gfn)) {
    yield* kvm_flush_remote_tlbs(t, kvm, 'kvm_mmu_get_page');
  }
  // The new SP's entries are filled from the guest table as it is once the
  // table is protected (later faults read it; trapped writes update it).
  const gpt = kvm.guest_pts.get(gfn);
  sp.synced_version = gpt === undefined ? 0 : t.load(gpt, 'version');
  return sp;
}

/** `link_shadow_page(vcpu, sptep, sp)`: install the non-leaf SPTE, add the parent pointer, propagate unsync. */
function* link_shadow_page(t: SimThread, kvm: Kvm, parent: Sp, idx: number, sp: Sp): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'link_shadow_page');
  yield 'link_shadow_page:mmu_spte_set';
  t.storeAt(parent, 'spt', idx, makeNonLeaf(sp.pfn));
  yield 'link_shadow_page:sp.parent_ptes.add';
  t.touch(sp, 'mmu_page_add_parent_pte');
  sp.parent_ptes.push({ sp: parent, idx });
  yield 'link_shadow_page:sp.unsync.load';
  if (t.load(sp, 'unsync_children') !== 0 || t.load(sp, 'unsync')) yield* mark_unsync(t, kvm, { sp: parent, idx }, false);
}

/** Reads L1's EPT12 walk for `l2gfn`: the table gfns per level and the L1 gfn it maps (guest memory reads). */
function* walkGuestEpt(t: SimThread, kvm: Kvm, l2gfn: number): Step<{ tables: number[]; l1gfn: number | null }> {
  const tables: number[] = [];
  let gfn = kvm.ept12_root_gfn;
  for (let level = NESTED_ROOT_LEVEL; level >= 1; level--) {
    const gpt = kvm.guest_pts.get(gfn);
    if (gpt === undefined) return { tables, l1gfn: null };
    tables.push(gfn);
    yield 'FNAME(walk_addr):gpte.load';
    const e = t.load(gpt, 'entries').get(ptIndex(l2gfn, level));
    if (e === undefined) return { tables, l1gfn: null };
    gfn = e;
  }
  return { tables, l1gfn: gfn };
}

/**
 * `mmu_alloc_shadow_roots` for the nested guest MMU: `mmu_first_shadow_root_alloc`
 * (seed 004) before taking mmu_lock, then the root SP under the write lock;
 * `kvm_mmu_load` then syncs the roots.
 */
export function* mmu_alloc_shadow_roots(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  yield* call(mmu_first_shadow_root_alloc(t, kvm));
  yield* kvm.mmu_lock.writeLock(t, 'mmu_alloc_shadow_roots');
  const root = yield* call(kvm_mmu_get_page(t, kvm, kvm.ept12_root_gfn, NESTED_ROOT_LEVEL));
  root.isRoot = true;
  yield 'mmu_alloc_shadow_roots:root.root_count.load';
  const count = t.load(root, 'root_count');
  yield 'mmu_alloc_shadow_roots:root.root_count.store';
  t.store(root, 'root_count', count + 1);
  yield 'mmu_alloc_shadow_roots:vcpu->arch.mmu->root_hpa.store';
  t.store(vcpu, 'guest_root_hpa', root);
  yield* kvm.mmu_lock.writeUnlock(t, 'mmu_alloc_shadow_roots');
  yield* call(kvm_mmu_sync_roots(t, kvm, vcpu));
}

/** `kvm_mmu_free_roots(vcpu, &vcpu->arch.guest_mmu)` (L1's INVEPT). */
export function* kvm_mmu_free_guest_roots(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_free_roots');
  yield* mmu_free_root_page(t, kvm, vcpu);
  yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_free_roots');
}

/**
 * `mmu_free_root_page` for the vCPU's shadow root (`guest_mmu.root_hpa`),
 * write lock: `--root_count`, and zap the root if that was its last
 * reference and it was invalidated meanwhile.
 */
export function* mmu_free_root_page(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'mmu_free_root_page');
  yield 'mmu_free_root_page:vcpu->arch.guest_mmu.root_hpa.load';
  const root = t.load(vcpu, 'guest_root_hpa');
  if (root === null) return;
  yield 'mmu_free_root_page:root.root_count.load';
  const count = t.load(root, 'root_count') - 1;
  yield 'mmu_free_root_page:root.root_count.store';
  t.store(root, 'root_count', count);
  yield 'mmu_free_root_page:root.role.invalid.load';
  if (count === 0 && t.load(root, 'role_invalid')) yield* kvm_mmu_prepare_zap_page(t, kvm, root);
  yield 'mmu_free_root_page:vcpu->arch.guest_mmu.root_hpa.store';
  t.store(vcpu, 'guest_root_hpa', null);
}

/**
 * The nested-EPT page fault (`FNAME(page_fault)` with the guest MMU) for an
 * L2 access to `l2gfn`: walk L1's EPT12 in guest memory, take the write
 * lock, and for each level get (or create) the indirect SP shadowing the
 * guest table, sync it if it has unsync children (can_yield = 0), link it,
 * then install the leaf and add its rmap entry.
 */
export function* nested_ept_page_fault(t: SimThread, kvm: Kvm, vcpu: Vcpu, l2gfn: number): Step<'RET_PF_FIXED' | 'RET_PF_RETRY' | 'RET_PF_INVALID'> {
  const walk = yield* walkGuestEpt(t, kvm, l2gfn);
  if (walk.l1gfn === null) return 'RET_PF_INVALID';
  const l1gfn = walk.l1gfn;
  yield 'kvm_vcpu_gfn_to_memslot:kvm->memslots.load';
  const slot = t.load(kvm, 'memslots').find(l1gfn);
  yield 'FNAME(page_fault):kvm->mmu_notifier_seq.load';
  const mmu_seq = t.load(kvm, 'mmu_notifier_seq');
  let page: Page | null = null;
  if (slot !== null && !slot.invalid) {
    yield '__gfn_to_pfn_memslot:get_user_pages';
    const hva = slot.hvaOf(l1gfn);
    page = kvm.mm.get(hva) ?? null;
    if (page === null) {
      page = kvm.newPage(hva);
      kvm.mm.set(hva, page);
    }
    page.refs++;
  }
  if (slot === null || page === null) return 'RET_PF_INVALID';
  yield* kvm.mmu_lock.writeLock(t, 'FNAME(page_fault)');
  let result: 'RET_PF_FIXED' | 'RET_PF_RETRY' = 'RET_PF_FIXED';
  yield 'FNAME(page_fault):kvm->mmu_notifier_seq.load';
  const stale = t.load(kvm, 'mmu_notifier_seq') !== mmu_seq || kvm.mmu_notifier_count !== 0;
  const root = vcpu.guest_root_hpa;
  if (stale || root === null || isObsolete(kvm, root)) {
    result = 'RET_PF_RETRY';
  } else {
    let sp = root;
    for (let level = NESTED_ROOT_LEVEL; level > 1 && result === 'RET_PF_FIXED'; level--) {
      const idx = ptIndex(l2gfn, level);
      yield 'FNAME(fetch):it.sptep.load';
      const ent = t.loadAt(sp, 'spt', idx);
      if (isPresent(ent) && !isLeaf(ent)) {
        const child = kvm.frame(pfnOf(ent));
        if (child instanceof Sp) {
          sp = child;
          continue;
        }
      }
      const child = yield* call(kvm_mmu_get_page(t, kvm, walk.tables[NESTED_ROOT_LEVEL - level + 1]!, level - 1));
      if (child.unsync_children !== 0 && !(yield* call(mmu_sync_children(t, kvm, vcpu, child, false)))) {
        result = 'RET_PF_RETRY';
        break;
      }
      yield* link_shadow_page(t, kvm, sp, idx, child);
      sp = child;
    }
    if (result === 'RET_PF_FIXED') {
      // mmu_set_spte → make_spte (can_unsync = true) → rmap_add
      const idx = ptIndex(l2gfn, 1);
      const writable = !(yield* call(mmu_try_to_unsync_pages(t, kvm, slot, l1gfn, true, false)));
      yield 'mmu_set_spte:mmu_spte_update';
      const old = t.loadAt(sp, 'spt', idx);
      t.storeAt(sp, 'spt', idx, makeLeaf(page.pfn, writable));
      sp.gfns.set(idx, l1gfn);
      if (!isPresent(old)) yield* rmap_add(t, kvm, slot, { sp, idx }, l1gfn);
    }
  }
  yield* kvm.mmu_lock.writeUnlock(t, 'FNAME(page_fault)');
  yield 'kvm_release_pfn_clean:put_page';
  page.refs--;
  return result;
}

/**
 * The emulation path for a guest write to a write-tracked (or unsync-refused)
 * guest page table (`kvm_mmu_pte_write`, 1.1.E): under the write lock,
 * update every SP shadowing that gfn (model: it adopts the new version).
 */
export function* kvm_mmu_pte_write(t: SimThread, kvm: Kvm, gpt: GuestPt): Step {
  yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_pte_write');
  yield 'kvm_mmu_pte_write:mmu_page_hash.load';
  for (const sp of kvm.mmu_page_hash.get(gpt.gfn) ?? []) {
    if (sp.freed || sp.direct) continue;
    yield 'kvm_mmu_pte_write:sp.spt.update';
    t.store(sp, 'synced_version', gpt.version);
  }
  yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_pte_write');
}

/** End-of-execution oracles of seed 000 (d.2, d.3, d.6), over every live indirect SP. */
export function checkUnsyncInvariants(t: { invariant: SimThread['invariant'] }, kvm: Kvm): void {
  let unsyncCount = 0;
  for (const sp of kvm.active_mmu_pages) {
    if (sp.freed) continue;
    if (sp.unsync) unsyncCount++;
    const pop = bitmapPopcount(sp.unsync_child_bitmap);
    t.invariant(sp.unsync_children === pop, 'unsync-count', 'unsync_children differs from its bitmap',
      () => `${sp.name}.unsync_children = ${sp.unsync_children} but its bitmap has ${pop} bits {${bitmapIndexes(sp.unsync_child_bitmap).join(', ')}}`);
    if (sp.unsync) {
      for (const p of sp.parent_ptes) {
        t.invariant(isMarkedUpward(kvm, p), 'unsync-unreachable', 'unsync SP unreachable from the sync walk',
          () => `${sp.name} is unsync but its parent ${p.sp.name} (bit ${p.idx}) is not marked up to the root: the sync walk will never find it`);
      }
    }
  }
  t.invariant(kvm.stat_mmu_unsync === unsyncCount, 'unsync-stat', 'stat.mmu_unsync differs from the unsync SPs',
    () => `stat.mmu_unsync = ${kvm.stat_mmu_unsync} but ${unsyncCount} SPs are unsync`);
}

/** Is parent pointer `p` marked in its SP's bitmap, and that SP marked in its parents, up to a root? */
function isMarkedUpward(kvm: Kvm, p: ParentPte): boolean {
  const P = p.sp;
  if ((P.unsync_child_bitmap[p.idx >> 6]! & bit(p.idx)) === 0n) return false;
  if (P.isRoot || P.parent_ptes.length === 0) return true;
  return P.parent_ptes.every((pp) => isMarkedUpward(kvm, pp));
}
