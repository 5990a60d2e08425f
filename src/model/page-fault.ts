/**
 * The TDP MMU page fault (1.1.B: `kvm_tdp_page_fault` → `direct_page_fault`
 * with `is_tdp_mmu_fault`), the MMIO fault (`handle_mmio_page_fault`), and
 * the helpers they share: `kvm_faultin_pfn` with the APIC-access branch
 * (seed 001), `is_page_fault_stale` and `mmu_notifier_retry_hva`, and
 * `kvm_tdp_mmu_map` with `make_spte` (which may mark shadow pages unsync,
 * seed 000).
 */
import { call, type SimThread, type Step } from '../runtime';
import { label } from '../runtime/label-memo';
import type { Kvm } from './kvm';
import { listAdd } from './list';
import { APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, KVM_USER_MEM_SLOTS, type Memslot } from './memslots';
import { checkStaleMmio, mmioGenMatches, mmioStoredGen, vcpu_cache_mmio_info } from './mmio';
import { Sp } from './mmu-page';
import { Page } from './primary-mm';
import { mmu_try_to_unsync_pages } from './shadow-mmu';
import {
  isLeaf, isMmio, isPresent, isRemoved, isWritable, makeLeaf, makeMmioSpte, makeNonLeaf, mmioStoredGen as spteStoredGen,
  pfnOf, ptIndex, showSpte,
} from './spte';
import { TDP_ROOT_LEVEL, handle_changed_spte } from './tdp-mmu';
import { KVM_REQ_APICV_UPDATE, type Vcpu } from './vcpu';

export type PfResult = 'RET_PF_FIXED' | 'RET_PF_RETRY' | 'RET_PF_EMULATE' | 'RET_PF_INVALID' | 'RET_PF_SPURIOUS';

/** `struct kvm_page_fault` (the parts the model needs). */
export interface PageFault {
  readonly gfn: number;
  readonly write: boolean;
  slot: Memslot | null;
  /** Generation of the memslots array the slot was looked up in (tag provenance). */
  slotsGen: bigint;
  hva: number;
  page: Page | null;
  /** KVM_PFN_NOSLOT: no memslot — MMIO. */
  noslot: boolean;
  map_writable: boolean;
}

/** `kvm_apicv_activated(kvm)`: no inhibit reason set (a plain, lockless load). */
export function* kvm_apicv_activated(t: SimThread, kvm: Kvm, fn: string): Step<boolean> {
  yield label(fn, 'kvm->arch.apicv_inhibit_reasons.load');
  return t.load(kvm, 'apicv_inhibit_reasons') === 0;
}

/**
 * `kvm_faultin_pfn`: INVALID slot → retry; a private slot while running L2
 * → no slot; the APIC-access slot while APICv is "not active" → emulate
 * (which APICv state is read is the `vcpu-apicv-state` switch); otherwise
 * translate the hva through the primary MM and take a page reference.
 */
export function* kvm_faultin_pfn(t: SimThread, kvm: Kvm, vcpu: Vcpu, fault: PageFault): Step<PfResult | null> {
  const slot = fault.slot;
  if (slot === null) {
    fault.noslot = true;
    return null;
  }
  if (slot.invalid) return 'RET_PF_RETRY';
  if (slot.id >= KVM_USER_MEM_SLOTS && vcpu.guest_mode) {
    fault.noslot = true;
    fault.slot = null;
    return null;
  }
  if (slot.id === APIC_ACCESS_PAGE_PRIVATE_MEMSLOT) {
    let active: boolean;
    if (kvm.config.switches['vcpu-apicv-state']) {
      yield 'kvm_faultin_pfn:kvm_vcpu_apicv_active(vcpu)';
      active = t.load(vcpu, 'apicv_active');
      if (kvm.variant('vcpu-apicv-state:bail-on-request')) {
        yield 'kvm_faultin_pfn:kvm_test_request(KVM_REQ_APICV_UPDATE)';
        if ((t.load(vcpu, 'requests') & KVM_REQ_APICV_UPDATE) !== 0) return 'RET_PF_RETRY';
      }
    } else {
      active = yield* kvm_apicv_activated(t, kvm, 'kvm_faultin_pfn');
    }
    if (t.ex.tracing) t.note(`APICv ${active ? 'active' : 'inactive'}`);
    if (!active) return 'RET_PF_EMULATE';
  }
  // __gfn_to_pfn_memslot → hva_to_pfn: the primary MM's current page, with a reference.
  fault.hva = slot.hvaOf(fault.gfn);
  yield '__gfn_to_pfn_memslot:get_user_pages';
  let page = kvm.mm.get(fault.hva);
  if (page === undefined) {
    page = kvm.newPage(fault.hva);
    kvm.mm.set(fault.hva, page);
  }
  t.touch(page, 'get_page');
  page.refs++;
  if (t.ex.tracing) t.note(`hva ${fault.hva} -> ${page.name} (pfn ${page.pfn})`);
  fault.page = page;
  fault.map_writable = true;
  return null;
}

/** `kvm_release_pfn_clean`: drop the fault's page reference. */
export function* kvm_release_pfn_clean(t: SimThread, fault: PageFault): Step {
  if (fault.page === null) return;
  yield 'kvm_release_pfn_clean:put_page';
  if (t.ex.tracing) t.note(`put ${fault.page.name}`);
  fault.page.refs--;
  fault.page = null;
}

/**
 * `mmu_notifier_retry_hva(kvm, mmu_seq, hva)` — mmu_lock held. True while an
 * invalidation covering `hva` is in progress, or when any invalidation
 * completed since the snapshot `mmu_seq` was taken.
 */
export function* mmu_notifier_retry_hva(t: SimThread, kvm: Kvm, mmu_seq: bigint, hva: number): Step<boolean> {
  t.assertHeld(kvm.mmu_lock, 'any', 'mmu_notifier_retry_hva');
  yield 'mmu_notifier_retry_hva:kvm->mmu_notifier_count.load';
  if (t.load(kvm, 'mmu_notifier_count') !== 0) {
    yield 'mmu_notifier_retry_hva:kvm->mmu_notifier_range.load';
    const startHva = t.load(kvm, 'mmu_notifier_range_start');
    const endHva = t.load(kvm, 'mmu_notifier_range_end');
    if (hva >= startHva && hva < endHva) return true;
  }
  yield 'mmu_notifier_retry_hva:kvm->mmu_notifier_seq.load';
  return t.load(kvm, 'mmu_notifier_seq') !== mmu_seq;
}

/**
 * `is_page_fault_stale(vcpu, fault, int mmu_seq)`: the root is obsolete, or
 * an MMU-notifier invalidation raced with the fault. Note the widths: the
 * snapshot is an `unsigned long`, this parameter an `int`, and it is passed
 * on as `unsigned long` again — reproduced exactly (spec 2.4).
 */
export function* is_page_fault_stale(t: SimThread, kvm: Kvm, vcpu: Vcpu, fault: PageFault, mmu_seq_ul: bigint): Step<boolean> {
  const mmu_seq_int = BigInt.asIntN(32, mmu_seq_ul);
  yield 'is_page_fault_stale:vcpu->arch.mmu->root_hpa.load';
  const root = t.load(vcpu, 'root_hpa');
  if (root !== null) {
    yield 'is_page_fault_stale:root.role.invalid.load';
    if (t.load(root, 'role_invalid')) return true;
  }
  if (fault.slot !== null) {
    return yield* mmu_notifier_retry_hva(t, kvm, BigInt.asUintN(64, mmu_seq_int), fault.hva);
  }
  return false;
}

/**
 * `make_spte` for a TDP MMU leaf: writable when the host mapping is; if it
 * becomes writable and was not already, `mmu_try_to_unsync_pages` decides
 * whether shadow pages of this gfn may go unsync — if not, the SPTE is made
 * read-only. Returns the new SPTE and whether it was write-protected.
 */
export function* make_spte(t: SimThread, kvm: Kvm, fault: PageFault, old_spte: number, can_unsync: boolean): Step<{ spte: number; wrprot: boolean }> {
  let writable = fault.map_writable;
  let wrprot = false;
  if (writable && !isWritable(old_spte)) {
    if (yield* call(mmu_try_to_unsync_pages(t, kvm, fault.slot, fault.gfn, can_unsync, false))) {
      writable = false;
      wrprot = true;
    }
  }
  return { spte: makeLeaf(fault.page!.pfn, writable, true, writable && fault.write), wrprot };
}

/** `tdp_mmu_link_page`: add a new non-root TDP SP to tdp_mmu_pages under tdp_mmu_pages_lock. */
function* tdp_mmu_link_page(t: SimThread, kvm: Kvm, sp: Sp): Step {
  yield* kvm.tdp_mmu_pages_lock.lock(t, 'tdp_mmu_link_page');
  yield 'tdp_mmu_link_page:tdp_mmu_pages.list_add';
  listAdd(t, sp.link, kvm.tdp_mmu_pages);
  yield* kvm.tdp_mmu_pages_lock.unlock(t, 'tdp_mmu_link_page');
}

/**
 * `kvm_tdp_mmu_map(vcpu, fault)` under mmu_lock held for read and RCU: walk
 * from the root to the 4K level, linking new page tables with cmpxchg, then
 * install the leaf (or an MMIO SPTE) with cmpxchg. Any failed cmpxchg or a
 * frozen entry ends the walk with RET_PF_RETRY.
 */
export function* kvm_tdp_mmu_map(t: SimThread, kvm: Kvm, vcpu: Vcpu, fault: PageFault): Step<PfResult> {
  t.assertHeld(kvm.mmu_lock, 'read', 'kvm_tdp_mmu_map');
  const root = vcpu.root_hpa!;
  t.rcuReadLock();
  try {
    let sp = root;
    for (let level = TDP_ROOT_LEVEL; level > 1; level--) {
      const idx = ptIndex(fault.gfn, level);
      yield 'kvm_tdp_mmu_map:iter.sptep.load';
      const old = t.loadAt(sp, 'spt', idx);
      if (isRemoved(old)) return 'RET_PF_RETRY';
      if (isPresent(old) && !isLeaf(old)) {
        const child = kvm.frame(pfnOf(old));
        if (!(child instanceof Sp)) {
          return t.ex.fail('BUG', 'kvm_tdp_mmu_map', 'non-leaf SPTE does not point to a page table', `${showSpte(old)} at ${sp.name}[${idx}]`);
        }
        sp = child;
        continue;
      }
      // Non-present (or MMIO): link a new page table from the vCPU's cache.
      const child = new Sp(kvm.ex, level - 1, true, fault.gfn, true, kvm.allocPfn(), kvm.mmu_valid_gen, `sp#${++kvm.spSeq}`);
      kvm.frames.set(child.pfn, child);
      yield 'tdp_mmu_set_spte_atomic:cmpxchg';
      const seen = t.cmpxchgAt(sp, 'spt', idx, old, makeNonLeaf(child.pfn));
      if (seen !== old) {
        kvm.frames.delete(child.pfn);
        return 'RET_PF_RETRY';
      }
      t.invariant(!root.role_invalid, 'spte-under-invalid-root', 'new SPTE installed under an invalid root',
        () => `${t.name} links ${child.name} into invalid root ${root.name}`);
      yield* tdp_mmu_link_page(t, kvm, child);
      sp = child;
    }
    // tdp_mmu_map_handle_target_level
    const idx = ptIndex(fault.gfn, 1);
    yield 'tdp_mmu_map_handle_target_level:iter.sptep.load';
    const old = t.loadAt(sp, 'spt', idx);
    if (isRemoved(old)) return 'RET_PF_RETRY';
    let new_spte: number;
    let wrprot = false;
    if (fault.noslot) {
      yield 'make_mmio_spte:kvm_vcpu_memslots(vcpu)->generation.load';
      const gen = t.load(t.load(kvm, 'memslots'), 'generation');
      new_spte = makeMmioSpte(fault.gfn, mmioStoredGen(kvm, gen));
      if (t.ex.tracing) t.note(`mmio spte tagged gen ${gen} (decided from ${fault.slotsGen})`);
    } else {
      const can_unsync = !kvm.variant('tdp-unsync-lock:no-unsync');
      ({ spte: new_spte, wrprot } = yield* make_spte(t, kvm, fault, old, can_unsync));
    }
    if (new_spte === old) return 'RET_PF_SPURIOUS';
    yield 'tdp_mmu_set_spte_atomic:cmpxchg';
    const seen = t.cmpxchgAt(sp, 'spt', idx, old, new_spte);
    if (seen !== old) return 'RET_PF_RETRY';
    t.invariant(!root.role_invalid, 'spte-under-invalid-root', 'new SPTE installed under an invalid root',
      () => `${t.name} installs ${showSpte(new_spte)} for gfn ${fault.gfn} into invalid root ${root.name}`);
    if (fault.noslot) {
      kvm.mmioProvenance.set(`${sp.oid}:${idx}`, { tagged: `${spteStoredGen(new_spte)} (stored bits)`, decided: String(fault.slotsGen), step: t.ex.step });
    }
    if (isPresent(old) || isMmio(old)) yield* handleReplaced(t, kvm, old, new_spte, fault.gfn);
    if (fault.noslot) return 'RET_PF_EMULATE';
    if (wrprot && fault.write) return 'RET_PF_EMULATE';
    return 'RET_PF_FIXED';
  } finally {
    t.rcuReadUnlock();
  }
}

function* handleReplaced(t: SimThread, kvm: Kvm, old: number, now: number, gfn: number): Step {
  yield* handle_changed_spte(t, kvm, old, now, 1, gfn, true);
}

/**
 * `direct_page_fault` for a TDP MMU fault. Returns the fault's result; the
 * vCPU re-enters the guest on RET_PF_RETRY and RET_PF_FIXED.
 */
export function* kvm_tdp_page_fault(t: SimThread, kvm: Kvm, vcpu: Vcpu, gfn: number, write: boolean): Step<PfResult> {
  const fault: PageFault = { gfn, write, slot: null, slotsGen: 0n, hva: 0, page: null, noslot: false, map_writable: false };
  // 1. fault->slot = kvm_vcpu_gfn_to_memslot(vcpu, gfn)
  yield 'kvm_vcpu_gfn_to_memslot:kvm->memslots.load';
  const slots = t.load(kvm, 'memslots');
  fault.slot = slots.find(gfn);
  fault.slotsGen = slots.generation;
  if (t.ex.tracing) t.note(fault.slot === null ? `gfn ${gfn}: no slot` : `gfn ${gfn}: ${fault.slot.describe()}`);
  // 2. page_fault_handle_page_track
  if (write && kvm.write_tracked.has(gfn)) {
    yield 'page_fault_handle_page_track:kvm_slot_page_track_is_active';
    if ((kvm.write_tracked.get(gfn) ?? 0) > 0) return 'RET_PF_EMULATE';
  }
  // 5. mmu_seq = kvm->mmu_notifier_seq; smp_rmb()
  yield 'direct_page_fault:kvm->mmu_notifier_seq.load';
  const mmu_seq = t.load(kvm, 'mmu_notifier_seq');
  // 6. kvm_faultin_pfn
  const r = yield* kvm_faultin_pfn(t, kvm, vcpu, fault);
  if (r !== null) return r;
  // 7. handle_abnormal_pfn: no slot → cache the MMIO info, continue to install an MMIO SPTE.
  if (fault.noslot) yield* vcpu_cache_mmio_info(t, kvm, vcpu, gfn, fault.slotsGen);
  // 8.-11.
  let result: PfResult;
  yield* kvm.mmu_lock.readLock(t, 'direct_page_fault');
  if (yield* is_page_fault_stale(t, kvm, vcpu, fault, mmu_seq)) {
    result = 'RET_PF_RETRY';
  } else {
    result = yield* call(kvm_tdp_mmu_map(t, kvm, vcpu, fault));
  }
  yield* kvm.mmu_lock.readUnlock(t, 'direct_page_fault');
  yield* kvm_release_pfn_clean(t, fault);
  return result;
}

/**
 * `handle_mmio_page_fault` (EPT misconfiguration on an MMIO SPTE): a hit in
 * the vCPU MMIO cache with the current generation, or an MMIO SPTE whose
 * stored generation matches, is emulated as MMIO without any memslot lookup;
 * a generation mismatch returns RET_PF_INVALID (the normal fault path).
 */
export function* handle_mmio_page_fault(t: SimThread, kvm: Kvm, vcpu: Vcpu, gfn: number): Step<PfResult> {
  yield 'vcpu_match_mmio_gen:kvm->memslots.load';
  const slots = t.load(kvm, 'memslots');
  const gen = t.load(slots, 'generation');
  if (vcpu.mmio_gfn === gfn && vcpu.mmio_gen === gen) {
    checkStaleMmio(t, kvm, gfn, 'the vCPU MMIO cache', String(vcpu.mmio_gen), String(vcpu.mmio_decided_gen), vcpu.mmio_tag_step);
    return 'RET_PF_EMULATE';
  }
  // get_mmio_spte: a lockless walk of the current root.
  const root = vcpu.root_hpa;
  if (root === null) return 'RET_PF_INVALID';
  t.rcuReadLock();
  let spte = 0;
  let where = '';
  try {
    let sp: Sp = root;
    for (let level = TDP_ROOT_LEVEL; level >= 1; level--) {
      const idx = ptIndex(gfn, level);
      yield 'get_mmio_spte:sptep.load';
      spte = t.loadAt(sp, 'spt', idx);
      where = `${sp.oid}:${idx}`;
      if (level === 1 || !isPresent(spte) || isLeaf(spte)) break;
      const child = kvm.frame(pfnOf(spte));
      if (!(child instanceof Sp)) break;
      sp = child;
    }
  } finally {
    t.rcuReadUnlock();
  }
  if (!isMmio(spte)) return 'RET_PF_INVALID';
  yield 'check_mmio_spte:kvm_vcpu_memslots(vcpu)->generation.load';
  const cur = t.load(t.load(kvm, 'memslots'), 'generation');
  if (!mmioGenMatches(kvm, spteStoredGen(spte), cur)) return 'RET_PF_INVALID';
  const prov = kvm.mmioProvenance.get(where);
  checkStaleMmio(t, kvm, gfn, 'an MMIO SPTE', prov?.tagged ?? '?', prov?.decided ?? '?', prov?.step ?? -1);
  yield* vcpu_cache_mmio_info(t, kvm, vcpu, gfn, cur);
  return 'RET_PF_EMULATE';
}

