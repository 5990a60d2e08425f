/**
 * Memslot updates (1.2.I, 1.2.J) with both sides of `slots-arch-lock`
 * (seed 004) and of `mmio-gen-after-srcu` (seed 002), and the first shadow
 * root's rmap allocation (`mmu_first_shadow_root_alloc`, or the v1 design's
 * `activate_shadow_mmu`).
 */
import { call, type SimThread, type Step } from '../runtime';
import { label } from '../runtime/label-memo';
import { kvm_mmu_zap_all_fast } from './fast-zap';
import type { Kvm } from './kvm';
import { KVM_MEMSLOT_INVALID, Memslot, Memslots } from './memslots';
import { mmioGenWrapped } from './mmio';

export type MemslotChange = 'CREATE' | 'DELETE' | 'MOVE' | 'FLAGS_ONLY';

/** A memory-region request (`struct kvm_userspace_memory_region`, reduced). */
export interface MemslotRequest {
  change: MemslotChange;
  id: number;
  base_gfn: number;
  npages: number;
  userspace_addr: number;
  flags: number;
}

// ---------------------------------------------------------------------------
// Lazy rmap allocation (seed 004)

/** `kvm_shadow_root_allocated(kvm)`: load-acquire of shadow_root_allocated. */
function* kvm_shadow_root_allocated(t: SimThread, kvm: Kvm, fn: string): Step<boolean> {
  yield label(fn, 'kvm->arch.shadow_root_allocated.load_acquire');
  return t.load(kvm, 'shadow_root_allocated');
}

/**
 * `mmu_first_shadow_root_alloc(kvm)` (switch on), called by a vCPU inside
 * its SRCU read section before it takes mmu_lock: allocate rmaps and
 * write-tracking arrays for every slot of the published memslots under
 * slots_arch_lock, then store-release shadow_root_allocated. Switch off: the
 * v1 design's activation under memslot_assignment_lock.
 */
export function* mmu_first_shadow_root_alloc(t: SimThread, kvm: Kvm): Step {
  if (!kvm.config.switches['slots-arch-lock']) {
    yield* call(activate_shadow_mmu(t, kvm));
    return;
  }
  if (yield* kvm_shadow_root_allocated(t, kvm, 'mmu_first_shadow_root_alloc')) return;
  yield* kvm.slots_arch_lock.lock(t, 'mmu_first_shadow_root_alloc');
  if (!(yield* kvm_shadow_root_allocated(t, kvm, 'mmu_first_shadow_root_alloc'))) {
    yield 'mmu_first_shadow_root_alloc:__kvm_memslots.load';
    const slots = t.load(kvm, 'memslots');
    for (const slot of slots.slots) {
      yield 'memslot_rmap_alloc:slot->arch.rmap.store';
      t.assertHeld(kvm.slots_arch_lock, 'any', 'memslot_rmap_alloc');
      t.touch(slots, 'memslot_rmap_alloc');
      if (slot.arch.rmap === null) slot.arch.rmap = kvm.newRmap(slot.id);
      if (!slot.arch.write_track) slot.arch.write_track = true;
    }
    yield 'mmu_first_shadow_root_alloc:kvm->arch.shadow_root_allocated.store_release';
    t.store(kvm, 'shadow_root_allocated', true);
  }
  yield* kvm.slots_arch_lock.unlock(t, 'mmu_first_shadow_root_alloc');
}

/** The v1 design's activator (seed 004 a, A1–A5). */
function* activate_shadow_mmu(t: SimThread, kvm: Kvm): Step {
  yield 'activate_shadow_mmu:kvm->arch.shadow_mmu_active.load';
  if (t.load(kvm, 'shadow_mmu_active')) return;
  yield* kvm.memslot_assignment_lock.lock(t, 'activate_shadow_mmu');
  yield 'activate_shadow_mmu:kvm->arch.alloc_memslot_rmaps.store';
  t.store(kvm, 'alloc_memslot_rmaps', true);
  yield 'activate_shadow_mmu:kvm->memslots.load';
  const slots = t.load(kvm, 'memslots');
  for (const slot of slots.slots) {
    yield 'alloc_memslot_rmaps:slot->arch.rmap.store';
    t.touch(slots, 'alloc_memslot_rmaps');
    if (slot.arch.rmap === null) slot.arch.rmap = kvm.newRmap(slot.id);
  }
  yield* kvm.memslot_assignment_lock.unlock(t, 'activate_shadow_mmu');
  yield 'activate_shadow_mmu:kvm->arch.shadow_mmu_active.store';
  t.store(kvm, 'shadow_mmu_active', true);
}

// ---------------------------------------------------------------------------
// install_new_memslots (1.2.J) and the generation (seed 002)

/** Oracle d.2 of seed 004 at every publication: with the gate set, every slot has rmaps. */
function checkPublication(t: SimThread, kvm: Kvm, slots: Memslots): void {
  const gate = kvm.config.switches['slots-arch-lock'] ? kvm.shadow_root_allocated : kvm.alloc_memslot_rmaps;
  if (!gate) return;
  for (const s of slots.slots) {
    if (s.invalid) continue;
    t.invariant(s.arch.rmap !== null, 'rmap-publication', 'memslot published without rmaps after rmaps were enabled',
      () => `${t.name} publishes ${slots.name} whose ${s.describe()} has no rmap although rmaps are enabled`);
  }
}

/**
 * `install_new_memslots(kvm, as_id, slots)`: prepare the generation, wait for
 * in-flight MMU-notifier invalidations, publish, release slots_arch_lock
 * (switch on), synchronize SRCU, then finish the generation and run the
 * MMIO-generation wrap check. Returns the previously published array.
 *
 * Generation: `mmio-gen-after-srcu` off — the copy gets old + 1 before
 * publication (the 2014 code did it in update_memslots) and nothing after;
 * on — WARN if old is odd, old + 1 (odd: update in progress) at publication,
 * old + 2 after synchronize_srcu (variant single-advance: old, then old + 2).
 *
 * `slots-arch-lock` off (the v1 design): `kvm_arch_assign_memslots`
 * allocates missing rmaps under memslot_assignment_lock and publishes inside
 * it — or, with `v1-assign-outside-lock`, after releasing it (Ben's race).
 */
export function* install_new_memslots(t: SimThread, kvm: Kvm, slots: Memslots): Step<Memslots> {
  const archLock = kvm.config.switches['slots-arch-lock'];
  const genOn = kvm.config.switches['mmio-gen-after-srcu'];
  const single = kvm.variant('mmio-gen-after-srcu:single-advance');
  yield 'install_new_memslots:old_memslots->generation.load';
  const old = t.load(kvm, 'memslots');
  const gen = t.load(old, 'generation');
  if (genOn) {
    t.warnOn((gen & 1n) === 1n, 'install_new_memslots', 'memslot generation update already in progress',
      () => `old generation ${gen} is odd`);
    yield 'install_new_memslots:slots->generation.store';
    t.store(slots, 'generation', single ? gen : gen + 1n);
  } else {
    yield 'update_memslots:slots->generation.store';
    t.store(slots, 'generation', gen + 1n);
  }
  const v1Outside = !archLock && kvm.variant('slots-arch-lock:v1-assign-outside-lock');
  if (!archLock) {
    // kvm_arch_assign_memslots (v1)
    yield* kvm.memslot_assignment_lock.lock(t, 'kvm_arch_assign_memslots');
    yield 'kvm_arch_assign_memslots:kvm->arch.alloc_memslot_rmaps.load';
    if (t.load(kvm, 'alloc_memslot_rmaps')) {
      for (const s of slots.slots) {
        yield 'kvm_arch_assign_memslots:slot->arch.rmap.store';
        t.touch(slots, 'kvm_arch_assign_memslots');
        if (s.arch.rmap === null) s.arch.rmap = kvm.newRmap(s.id);
      }
    }
    if (v1Outside) yield* kvm.memslot_assignment_lock.unlock(t, 'kvm_arch_assign_memslots');
  }
  // Do not publish while invalidations are in progress (mn_active_invalidate_count).
  yield* kvm.mn_invalidate_lock.lock(t, 'install_new_memslots');
  for (;;) {
    yield 'install_new_memslots:kvm->mn_active_invalidate_count.load';
    if (t.load(kvm, 'mn_active_invalidate_count') === 0) break;
    yield* kvm.mn_invalidate_lock.unlock(t, 'install_new_memslots');
    yield {
      label: 'install_new_memslots:rcuwait_wait_event(mn_memslots_update_rcuwait)',
      waitsFor: 'mn_active_invalidate_count == 0',
      ready: () => kvm.mn_active_invalidate_count === 0,
    };
    yield* kvm.mn_invalidate_lock.lock(t, 'install_new_memslots');
  }
  yield 'install_new_memslots:rcu_assign_pointer(kvm->memslots)';
  checkPublication(t, kvm, slots);
  t.store(kvm, 'memslots', slots);
  // Scaffolding: the array may be a recycled scratch array that was published (and completed) before.
  slots.published_step = t.ex.step;
  slots.install_done = false;
  if (t.ex.tracing) t.note(`publish ${slots.name} generation ${slots.generation}: ${slots.slots.map((s) => s.describe()).join(', ')}`);
  yield* kvm.mn_invalidate_lock.unlock(t, 'install_new_memslots');
  if (!archLock && !v1Outside) yield* kvm.memslot_assignment_lock.unlock(t, 'kvm_arch_assign_memslots');
  const holdAcross = kvm.variant('slots-arch-lock:hold-across-sync');
  if (archLock && !holdAcross) yield* kvm.slots_arch_lock.unlock(t, 'install_new_memslots');
  yield* kvm.srcu.synchronize(t, 'install_new_memslots', true);
  if (archLock && holdAcross) yield* kvm.slots_arch_lock.unlock(t, 'install_new_memslots');
  let now = slots.generation;
  if (genOn) {
    yield 'install_new_memslots:slots->generation.store';
    now = gen + 2n;
    t.store(slots, 'generation', now);
  }
  yield* kvm_arch_memslots_updated(t, kvm, now);
  slots.install_done = true;
  return old;
}

/** `kvm_arch_memslots_updated` → `kvm_mmu_invalidate_mmio_sptes`: zap all when the MMIO generation bits wrapped. */
function* kvm_arch_memslots_updated(t: SimThread, kvm: Kvm, gen: bigint): Step {
  yield 'kvm_mmu_invalidate_mmio_sptes:gen.check';
  if (mmioGenWrapped(kvm, gen)) {
    if (t.ex.tracing) t.note(`MMIO generation wrapped at ${gen}: zap all`);
    yield* call(kvm_mmu_zap_all_fast(t, kvm));
  }
}

// ---------------------------------------------------------------------------
// kvm_set_memslot (1.2.I; seed 004 both designs)

/** `kvm_dup_memslots`: a new array with a struct copy of every slot. */
function* kvm_dup_memslots(t: SimThread, kvm: Kvm): Step<Memslots> {
  yield 'kvm_dup_memslots:kvm->memslots.load';
  const cur = t.load(kvm, 'memslots');
  t.touch(cur, 'kvm_dup_memslots');
  return new Memslots(kvm.ex, cur.slots.map((s) => s.copy()), cur.generation, `memslots#${kvm.slotsSeq++}`);
}

/** `kvm_copy_memslots(to, from)`: refresh a scratch array from the published one (arch fields may have changed). */
function* kvm_copy_memslots(t: SimThread, kvm: Kvm, to: Memslots): Step {
  t.assertHeld(kvm.slots_arch_lock, 'any', 'kvm_copy_memslots');
  yield 'kvm_copy_memslots:kvm->memslots.load';
  const cur = t.load(kvm, 'memslots');
  t.touch(cur, 'kvm_copy_memslots');
  t.touch(to, 'kvm_copy_memslots');
  to.slots = cur.slots.map((s) => s.copy());
  to.generation = cur.generation;
}

/**
 * `kvm_alloc_memslot_metadata` (inside kvm_arch_prepare_memory_region):
 * zero the new slot's arch fields; allocate rmaps only if rmaps are in use,
 * and the write-tracking array only if write tracking is enabled.
 */
function* kvm_alloc_memslot_metadata(t: SimThread, kvm: Kvm, slot: Memslot): Step {
  slot.arch = { rmap: null, write_track: false };
  if (kvm.config.switches['slots-arch-lock']) {
    yield 'kvm_alloc_memslot_metadata:kvm_memslots_have_rmaps';
    const have = t.load(kvm, 'shadow_root_allocated');
    if (have) slot.arch.rmap = kvm.newRmap(slot.id);
    slot.arch.write_track = have;
  } else {
    yield 'kvm_alloc_memslot_metadata:kvm->arch.alloc_memslot_rmaps.load';
    if (t.load(kvm, 'alloc_memslot_rmaps')) slot.arch.rmap = kvm.newRmap(slot.id);
    slot.arch.write_track = true;
  }
  if (t.ex.tracing) t.note(`new ${slot.describe()} rmap ${slot.arch.rmap?.name ?? 'NULL'}`);
}

/** `update_memslots`: apply the change to the scratch array. */
function update_memslots(slots: Memslots, req: MemslotRequest, next: Memslot): void {
  const rest = slots.slots.filter((s) => s.id !== req.id);
  slots.slots = req.change === 'DELETE' ? rest : [...rest, next].sort((a, b) => a.base_gfn - b.base_gfn);
}

/** `kvm_free_memslot`: free the slot's metadata (its rmap array). */
function kvm_free_memslot(t: SimThread, slot: Memslot): void {
  if (slot.arch.rmap !== null && !slot.arch.rmap.freed) t.free(slot.arch.rmap);
}

/**
 * `kvm_set_memory_region` → `__kvm_set_memory_region` → `kvm_set_memslot`,
 * holding slots_lock throughout. Switch on: the slots_arch_lock design.
 * Switch off: the v1 design (assignment under memslot_assignment_lock).
 */
export function* kvm_set_memory_region(t: SimThread, kvm: Kvm, req: MemslotRequest): Step<boolean> {
  yield* kvm.slots_lock.lock(t, 'kvm_set_memory_region');
  const ok = yield* call(kvm_set_memslot(t, kvm, req));
  yield* kvm.slots_lock.unlock(t, 'kvm_set_memory_region');
  return ok;
}

function* kvm_set_memslot(t: SimThread, kvm: Kvm, req: MemslotRequest): Step<boolean> {
  t.assertHeld(kvm.slots_lock, 'any', 'kvm_set_memslot');
  const on = kvm.config.switches['slots-arch-lock'];
  // 1. Validate against the current array.
  const cur = kvm.memslots.byId(req.id);
  if ((req.change === 'CREATE') !== (cur === null)) return false;
  if (req.change === 'CREATE' || req.change === 'MOVE') {
    const overlap = kvm.memslots.slots.some((s) => s.id !== req.id && s.base_gfn < req.base_gfn + req.npages && req.base_gfn < s.base_gfn + s.npages);
    if (overlap) return false;
  }
  // 2.-3.
  if (on) yield* kvm.slots_arch_lock.lock(t, 'kvm_set_memslot');
  let slots = yield* kvm_dup_memslots(t, kvm);
  let superseded: Memslots | null = null;
  if (req.change === 'DELETE' || req.change === 'MOVE') {
    // 4a. Mark the slot INVALID in the copy; 4b. publish it.
    const inv = slots.byId(req.id)!;
    inv.flags |= KVM_MEMSLOT_INVALID;
    const scratch = yield* call(install_new_memslots(t, kvm, slots));
    superseded = slots;
    slots = scratch;
    // 4c. kvm_arch_flush_shadow_memslot → kvm_mmu_zap_all_fast
    yield* call(kvm_mmu_zap_all_fast(t, kvm));
    // 4d. Re-take the lock and refresh the scratch array from the published one.
    if (on) {
      yield* kvm.slots_arch_lock.lock(t, 'kvm_set_memslot');
      if (!kvm.variant('slots-arch-lock:sketch')) yield* kvm_copy_memslots(t, kvm, slots);
    }
  }
  // 5. old = the slot as in the scratch array; new.arch = old.arch.
  yield 'kvm_set_memslot:slots.load';
  t.touch(slots, 'kvm_set_memslot');
  const old = slots.byId(req.id)?.copy() ?? null;
  const next = new Memslot(req.id, req.base_gfn, req.npages, req.userspace_addr, req.flags, old?.arch ? { ...old.arch } : { rmap: null, write_track: false });
  if (req.change === 'FLAGS_ONLY' && old !== null) {
    next.base_gfn = old.base_gfn;
    next.npages = old.npages;
    next.userspace_addr = old.userspace_addr;
  }
  // 6. kvm_arch_prepare_memory_region
  if (req.change === 'CREATE' || req.change === 'MOVE') yield* call(kvm_alloc_memslot_metadata(t, kvm, next));
  // 7.-8.
  update_memslots(slots, req, next);
  const prev = yield* call(install_new_memslots(t, kvm, slots));
  // 9. kvm_arch_commit_memory_region / free what the change superseded.
  yield 'kvm_set_memslot:kvfree';
  if ((req.change === 'DELETE' || req.change === 'MOVE') && old !== null) kvm_free_memslot(t, old);
  const toFree = superseded ?? prev;
  if (!toFree.freed && toFree !== kvm.memslots) t.free(toFree);
  return true;
}

