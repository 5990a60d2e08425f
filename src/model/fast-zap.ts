/**
 * `kvm_mmu_zap_all_fast` (1.2.K; 3.4 for the `roots-off-list` switch):
 * obsolete every shadow page by toggling mmu_valid_gen, invalidate every TDP
 * MMU root, make every vCPU reload its MMU, zap obsolete shadow pages, then
 * zap the invalidated TDP roots under the read lock.
 */
import { call, type SimThread, type Step } from '../runtime';
import type { Kvm } from './kvm';
import type { Sp } from './mmu-page';
import { kvm_make_all_cpus_request } from './requests';
import { gfn_to_rmap, isObsolete, kvm_unlink_unsync_page } from './shadow-mmu';
import { isLeaf, nextPresent, pfnOf } from './spte';
import { StackListHead, kvm_tdp_mmu_invalidate_all_roots, kvm_tdp_mmu_zap_invalidated_roots } from './tdp-mmu';
import { KVM_REQ_MMU_RELOAD } from './vcpu';

/** `kvm_mmu_zap_all_fast(kvm)` — caller holds slots_lock. */
export function* kvm_mmu_zap_all_fast(t: SimThread, kvm: Kvm): Step {
  t.assertHeld(kvm.slots_lock, 'any', 'kvm_mmu_zap_all_fast');
  const local = kvm.config.switches['roots-off-list'] ? new StackListHead(kvm) : null;
  yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_zap_all_fast');
  yield 'kvm_mmu_zap_all_fast:kvm->arch.mmu_valid_gen.load';
  const g = t.load(kvm, 'mmu_valid_gen');
  yield 'kvm_mmu_zap_all_fast:kvm->arch.mmu_valid_gen.store';
  t.store(kvm, 'mmu_valid_gen', g ? 0 : 1);
  yield* call(kvm_tdp_mmu_invalidate_all_roots(t, kvm, local));
  // kvm_reload_remote_mmus, under the write lock.
  yield* kvm_make_all_cpus_request(t, kvm, KVM_REQ_MMU_RELOAD, 'kvm_reload_remote_mmus');
  yield* call(kvm_zap_obsolete_pages(t, kvm));
  yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_zap_all_fast');
  yield* kvm.mmu_lock.readLock(t, 'kvm_mmu_zap_all_fast');
  yield* call(kvm_tdp_mmu_zap_invalidated_roots(t, kvm, local));
  yield* kvm.mmu_lock.readUnlock(t, 'kvm_mmu_zap_all_fast');
  if (local !== null) {
    // The on-stack list head dies with the frame.
    yield 'kvm_mmu_zap_all_fast:return';
    t.free(local);
  }
}

/**
 * `kvm_zap_obsolete_pages` — write lock: prepare-zap every obsolete shadow
 * page (unlink it from its parents and children, drop its rmaps, remove it
 * from the hash), freeing it unless a vCPU still uses it as a root (then it
 * is marked invalid and freed when the root is put). May yield the lock
 * between pages.
 */
export function* kvm_zap_obsolete_pages(t: SimThread, kvm: Kvm): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_zap_obsolete_pages');
  const victims = kvm.active_mmu_pages.filter((sp) => !sp.freed && isObsolete(kvm, sp));
  for (const sp of victims) {
    if (sp.freed) continue;
    // Invalid SPs (roots zapped while in use) are off the list; one found here is a bookkeeping bug.
    if (t.warnOn(sp.role_invalid, 'kvm_zap_obsolete_pages', 'invalid SP on active_mmu_pages', `${sp.name}`)) continue;
    yield* kvm_mmu_prepare_zap_page(t, kvm, sp);
    if (t.choose(2, 'kvm_zap_obsolete_pages cond_resched') === 1) {
      yield* kvm.mmu_lock.condReschedWrite(t, 'kvm_zap_obsolete_pages');
    }
  }
}

/**
 * `__kvm_mmu_prepare_zap_page` + `kvm_mmu_commit_zap_page` for an indirect SP
 * (write lock). An SP still used as a root is taken off `active_mmu_pages`
 * and marked invalid; `mmu_free_root_page` zaps it again, and frees it, when
 * its last `root_count` goes.
 */
export function* kvm_mmu_prepare_zap_page(t: SimThread, kvm: Kvm, sp: Sp): Step {
  t.assertHeld(kvm.mmu_lock, 'write', 'kvm_mmu_prepare_zap_page');
  yield 'kvm_mmu_prepare_zap_page:sp.unsync.load';
  if (t.load(sp, 'unsync')) yield* kvm_unlink_unsync_page(t, kvm, sp);
  // kvm_mmu_page_unlink_children: drop each child's parent pointer, or the leaf's rmap.
  for (let i = nextPresent(sp.spt, 0); i < sp.spt.length; i = nextPresent(sp.spt, i + 1)) {
    const e = sp.spt[i]!;
    yield 'mmu_page_zap_pte:spte.clear';
    t.storeAt(sp, 'spt', i, 0);
    if (!isLeaf(e)) {
      const child = kvm.frame(pfnOf(e));
      if (child !== undefined && 'parent_ptes' in child) {
        const k = child.parent_ptes.findIndex((p) => p.sp === sp && p.idx === i);
        if (k >= 0) child.parent_ptes.splice(k, 1);
      }
    } else {
      const gfn = sp.gfns.get(i);
      const slot = gfn === undefined ? null : kvm.memslots.find(gfn);
      if (slot !== null && gfn !== undefined) {
        yield 'rmap_remove:rmap_head.load';
        const rmap = gfn_to_rmap(t, slot, gfn);
        const list = rmap.entries.get(gfn) ?? [];
        const k = list.findIndex((p) => p.sp === sp && p.idx === i);
        if (k >= 0) list.splice(k, 1);
      }
    }
  }
  // kvm_mmu_unlink_parents
  for (const p of sp.parent_ptes.splice(0)) {
    yield 'drop_parent_pte:spte.clear';
    t.storeAt(p.sp, 'spt', p.idx, 0);
  }
  yield 'kvm_mmu_prepare_zap_page:mmu_page_hash.del';
  const bucket = kvm.mmu_page_hash.get(sp.gfn) ?? [];
  const k = bucket.indexOf(sp);
  if (k >= 0) bucket.splice(k, 1);
  yield 'kvm_mmu_prepare_zap_page:sp.role.invalid.load';
  // unaccount_shadowed, once: an invalid SP (a root zapped while in use) was unaccounted then.
  if (!t.load(sp, 'role_invalid') && sp.level > 1) {
    const n = (kvm.write_tracked.get(sp.gfn) ?? 1) - 1;
    if (n <= 0) kvm.write_tracked.delete(sp.gfn);
    else kvm.write_tracked.set(sp.gfn, n);
  }
  // list_move to invalid_list, or list_del for a root still in use.
  const j = kvm.active_mmu_pages.indexOf(sp);
  if (j >= 0) kvm.active_mmu_pages.splice(j, 1);
  yield 'kvm_mmu_prepare_zap_page:sp.root_count.load';
  if (t.load(sp, 'root_count') === 0) {
    t.free(sp);
  } else {
    yield 'kvm_mmu_prepare_zap_page:sp.role.invalid.store';
    t.store(sp, 'role_invalid', true);
  }
}
