/**
 * The MMU notifier (1.3.M, 1.3.N), `kvm_zap_gfn_range` (1.3.O) and the
 * primary MM that unmaps hva ranges and frees the old pages once the
 * notifier has returned (1.3.R).
 */
import { call, type SimThread, type Step } from '../runtime';
import type { Kvm } from './kvm';
import type { Memslot } from './memslots';
import { Sp } from './mmu-page';
import { Page } from './primary-mm';
import { kvm_memslots_have_rmaps, kvm_zap_rmapp_range } from './shadow-mmu';
import { isLeaf, nextPresent, pfnOf } from './spte';
import { kvm_flush_remote_tlbs, kvm_tdp_mmu_zap_gfn_range } from './tdp-mmu';

/** `kvm_inc_notifier_count(kvm, start, end)` — write lock: count++ (load, store), set or widen the range. */
function* kvm_inc_notifier_count(t: SimThread, kvm: Kvm, start: number, end: number): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_inc_notifier_count');
  yield 'kvm_inc_notifier_count:kvm->mmu_notifier_count.load';
  const c = t.load(kvm, 'mmu_notifier_count');
  yield 'kvm_inc_notifier_count:kvm->mmu_notifier_count.store';
  t.store(kvm, 'mmu_notifier_count', c + 1);
  yield 'kvm_inc_notifier_count:kvm->mmu_notifier_range.store';
  if (c + 1 === 1) {
    t.store(kvm, 'mmu_notifier_range_start', start);
    t.store(kvm, 'mmu_notifier_range_end', end);
  } else {
    t.store(kvm, 'mmu_notifier_range_start', Math.min(kvm.mmu_notifier_range_start, start));
    t.store(kvm, 'mmu_notifier_range_end', Math.max(kvm.mmu_notifier_range_end, end));
  }
}

/** `kvm_dec_notifier_count(kvm)` — write lock: seq++, smp_wmb, count--; BUG if negative. */
function* kvm_dec_notifier_count(t: SimThread, kvm: Kvm): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_dec_notifier_count');
  yield 'kvm_dec_notifier_count:kvm->mmu_notifier_seq.load';
  const seq = t.load(kvm, 'mmu_notifier_seq');
  yield 'kvm_dec_notifier_count:kvm->mmu_notifier_seq.store';
  t.store(kvm, 'mmu_notifier_seq', BigInt.asUintN(64, seq + 1n));
  yield 'kvm_dec_notifier_count:kvm->mmu_notifier_count.load';
  const c = t.load(kvm, 'mmu_notifier_count');
  yield 'kvm_dec_notifier_count:kvm->mmu_notifier_count.store';
  t.store(kvm, 'mmu_notifier_count', c - 1);
}

/** The gfn range of `slot` overlapping hva range [hs, he), or null. */
function overlap(slot: Memslot, hs: number, he: number): { start: number; end: number } | null {
  const s = Math.max(hs, slot.userspace_addr);
  const e = Math.min(he, slot.userspace_addr + slot.npages);
  if (s >= e) return null;
  return { start: slot.base_gfn + (s - slot.userspace_addr), end: slot.base_gfn + (e - slot.userspace_addr) };
}

/**
 * `kvm_unmap_gfn_range` (the notifier's handler) — write lock: zap the rmaps
 * when they are in use, and the range in every valid TDP MMU root
 * (`for_each_tdp_mmu_root_yield_safe`, which may yield).
 */
function* kvm_unmap_gfn_range(t: SimThread, kvm: Kvm, as_id: number, slot: Memslot, start: number, end: number): Step<boolean> {
  let flush = false;
  if (yield* kvm_memslots_have_rmaps(t, kvm, 'kvm_unmap_gfn_range')) flush = (yield* kvm_zap_rmapp_range(t, kvm, slot, start, end)) || flush;
  flush = (yield* call(kvm_tdp_mmu_zap_gfn_range(t, kvm, as_id, start, end, true, flush))) || flush;
  return flush;
}

/** `kvm_mmu_notifier_invalidate_range_start(hva range)`. */
export function* kvm_mmu_notifier_invalidate_range_start(t: SimThread, kvm: Kvm, hs: number, he: number): Step {
  yield* kvm.mn_invalidate_lock.lock(t, 'kvm_mmu_notifier_invalidate_range_start');
  yield 'kvm_mmu_notifier_invalidate_range_start:kvm->mn_active_invalidate_count.load';
  const active = t.load(kvm, 'mn_active_invalidate_count');
  yield 'kvm_mmu_notifier_invalidate_range_start:kvm->mn_active_invalidate_count.store';
  t.store(kvm, 'mn_active_invalidate_count', active + 1);
  yield* kvm.mn_invalidate_lock.unlock(t, 'kvm_mmu_notifier_invalidate_range_start');
  const idx = yield* kvm.srcu.readLock(t, '__kvm_handle_hva_range');
  yield '__kvm_handle_hva_range:kvm->memslots.load';
  const slots = t.load(kvm, 'memslots');
  let locked = false;
  let flush = false;
  // Each address space has its own memslots in the kernel; the model shares one array.
  for (let as_id = 0; as_id < kvm.addressSpaces; as_id++) {
    for (const slot of slots.slots) {
      const r = overlap(slot, hs, he);
      if (r === null) continue;
      if (!locked) {
        locked = true;
        yield* kvm.mmu_lock.writeLock(t, '__kvm_handle_hva_range');
        yield* kvm_inc_notifier_count(t, kvm, hs, he);
      }
      flush = (yield* call(kvm_unmap_gfn_range(t, kvm, as_id, slot, r.start, r.end))) || flush;
    }
  }
  if (flush) yield* kvm_flush_remote_tlbs(t, kvm, '__kvm_handle_hva_range');
  if (locked) yield* kvm.mmu_lock.writeUnlock(t, '__kvm_handle_hva_range');
  yield* kvm.srcu.readUnlock(t, idx, '__kvm_handle_hva_range');
}

/** `kvm_mmu_notifier_invalidate_range_end(hva range)`. */
export function* kvm_mmu_notifier_invalidate_range_end(t: SimThread, kvm: Kvm, hs: number, he: number): Step {
  const idx = yield* kvm.srcu.readLock(t, '__kvm_handle_hva_range');
  yield '__kvm_handle_hva_range:kvm->memslots.load';
  const slots = t.load(kvm, 'memslots');
  let locked = false;
  for (const slot of slots.slots) {
    if (overlap(slot, hs, he) === null) continue;
    if (!locked) {
      locked = true;
      yield* kvm.mmu_lock.writeLock(t, '__kvm_handle_hva_range');
      yield* kvm_dec_notifier_count(t, kvm);
    }
  }
  if (locked) yield* kvm.mmu_lock.writeUnlock(t, '__kvm_handle_hva_range');
  yield* kvm.srcu.readUnlock(t, idx, '__kvm_handle_hva_range');
  yield* kvm.mn_invalidate_lock.lock(t, 'kvm_mmu_notifier_invalidate_range_end');
  yield 'kvm_mmu_notifier_invalidate_range_end:kvm->mn_active_invalidate_count.load';
  const active = t.load(kvm, 'mn_active_invalidate_count');
  yield 'kvm_mmu_notifier_invalidate_range_end:kvm->mn_active_invalidate_count.store';
  t.store(kvm, 'mn_active_invalidate_count', active - 1);
  yield* kvm.mn_invalidate_lock.unlock(t, 'kvm_mmu_notifier_invalidate_range_end');
  t.bugOn(kvm.mmu_notifier_count < 0, 'kvm_mmu_notifier_invalidate_range_end', 'mmu_notifier_count negative',
    () => `mmu_notifier_count = ${kvm.mmu_notifier_count}`);
}

/**
 * `kvm_zap_gfn_range(kvm, gfn_start, gfn_end)` — takes mmu_lock for write;
 * note that it passes gfns to kvm_inc_notifier_count, whose range a
 * racing fault compares with an hva (as the kernel does).
 */
export function* kvm_zap_gfn_range(t: SimThread, kvm: Kvm, start: number, end: number): Step {
  yield* kvm.mmu_lock.writeLock(t, 'kvm_zap_gfn_range');
  yield* kvm_inc_notifier_count(t, kvm, start, end);
  let flush = false;
  if (yield* kvm_memslots_have_rmaps(t, kvm, 'kvm_zap_gfn_range')) {
    yield 'kvm_zap_gfn_range:kvm->memslots.load';
    const slots = t.load(kvm, 'memslots');
    for (const slot of slots.slots) {
      const s = Math.max(start, slot.base_gfn);
      const e = Math.min(end, slot.base_gfn + slot.npages);
      if (s >= e) continue;
      flush = (yield* kvm_zap_rmapp_range(t, kvm, slot, s, e)) || flush;
      if (t.choose(2, 'slot_handle_level_range cond_resched') === 1) {
        yield* kvm.mmu_lock.condReschedWrite(t, 'slot_handle_level_range');
      }
    }
  }
  for (let as_id = 0; as_id < kvm.addressSpaces; as_id++) {
    flush = (yield* call(kvm_tdp_mmu_zap_gfn_range(t, kvm, as_id, start, end, true, flush))) || flush;
  }
  if (flush) yield* kvm_flush_remote_tlbs(t, kvm, 'kvm_zap_gfn_range');
  yield* kvm_dec_notifier_count(t, kvm);
  yield* kvm.mmu_lock.writeUnlock(t, 'kvm_zap_gfn_range');
}

/** SPTEs (in any live page table: valid or invalid roots, on or off any list, shadow pages) mapping `page`. */
export function sptesMapping(kvm: Kvm, page: Page): string[] {
  return sptesMappingAny(kvm, (pfn) => pfn === page.pfn).get(page.pfn) ?? [];
}

/**
 * The present leaf SPTEs of live page tables whose pfn `wanted` accepts,
 * by pfn, each as sptesMapping names it (tables in frame order, entries in
 * index order): one scan of every table for any number of pages.
 */
export function sptesMappingAny(kvm: Kvm, wanted: (pfn: number) => boolean): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const f of kvm.frames.values()) {
    if (!(f instanceof Sp) || f.freed) continue;
    const spt = f.spt;
    for (let i = nextPresent(spt, 0); i < spt.length; i = nextPresent(spt, i + 1)) {
      const e = spt[i]!;
      if (!isLeaf(e)) continue;
      const pfn = pfnOf(e);
      if (!wanted(pfn)) continue;
      let list = out.get(pfn);
      if (list === undefined) out.set(pfn, (list = []));
      list.push(`${f.name}[${i}]${f.role_invalid ? ' (invalid)' : ''}`);
    }
  }
  return out;
}

/**
 * The primary MM unmapping hva range [hs, he) (munmap, migration, reclaim):
 * invalidate_range_start → remove the hva→page mappings → invalidate_range_end
 * → free each old page once no fault holds a reference. At the moment a page
 * is freed no SPTE may map it (seed 003 oracle 1); a later access to it is a
 * use-after-free.
 */
export function* mm_unmap_range(t: SimThread, kvm: Kvm, hs: number, he: number): Step {
  yield* call(kvm_mmu_notifier_invalidate_range_start(t, kvm, hs, he));
  yield 'mm_unmap_range:zap_page_range';
  const old: Page[] = [];
  for (let h = hs; h < he; h++) {
    const p = kvm.mm.get(h);
    if (p !== undefined) {
      old.push(p);
      kvm.mm.delete(h);
    }
  }
  if (t.ex.tracing) t.note(`unmap hva [${hs}, ${he}): ${old.map((p) => p.name).join(', ') || 'no pages'}`);
  yield* call(kvm_mmu_notifier_invalidate_range_end(t, kvm, hs, he));
  for (const p of old) {
    yield { label: 'mm_unmap_range:put_page', waitsFor: `${p.name} references`, ready: () => p.refs === 0 };
    const mapped = sptesMapping(kvm, p);
    t.invariant(mapped.length === 0, 'freed-page-mapped', 'page freed while an SPTE maps it',
      () => `${p.name} (pfn ${p.pfn}) is freed after invalidate_range_end, but ${mapped.join(', ')} still map it`);
    t.free(p);
  }
}
