/**
 * The seed documents' scenarios (kvm-mmu-model.md §3 (c)) and their
 * interleavings as scripts, shared by the seed tests and the oracle tests.
 */
import { APIC_DEFAULT_GFN } from '../../src/model/memslots';
import { buildEpt12 } from '../../src/model/vm';
import type { ScriptStep } from '../../src/strategies';
import type { Scenario } from './helpers';

// ---- seed 000 (tdp-unsync-lock) ----
export const G1 = 10;
export const G2 = 11;
/** P index 64: another bitmap word than index 0 (Case 1). */
export const CASE1_L2B = 64 * 512;
/** P index 1: the same word as index 0 (Case 2). */
export const CASE2_L2B = 512;

/**
 * Two L1 vCPUs write their EPT12 tables G1 and G2 (a first read loads the TDP
 * root, as a running L1 has it); vcpu2 builds R → P → S1, S2 by L2 faults,
 * issues INVEPT and (unless `noSync`) enters L2 again, which syncs.
 */
export function unsyncScenario(l2b: number, off: boolean, variants: string[] = [], noSync = false): Scenario {
  const v2 = [{ kind: 'l2-access' as const, l2gfn: 0 }, { kind: 'l2-access' as const, l2gfn: l2b }, { kind: 'invept' as const }, { kind: 'l2-access' as const, l2gfn: 0 }];
  return {
    off: off ? ['tdp-unsync-lock'] : [],
    variants,
    program: {
      vcpus: [
        [{ kind: 'access', gfn: 1, write: false }, { kind: 'ept-write', table: G1, idx: 7, value: 14 }],
        [{ kind: 'access', gfn: 2, write: false }, { kind: 'ept-write', table: G2, idx: 7, value: 15 }],
        noSync ? v2.slice(0, 3) : v2,
      ],
    },
    setup: (kvm) => buildEpt12(kvm, [
      { l2gfn: 0, l1gfn: 12, l2Table: 9, l1Table: G1 },
      { l2gfn: l2b, l1gfn: 13, l2Table: 9, l1Table: G2 },
    ]),
  };
}

/** Roots loaded, shadow pages built; vcpu2 stops before L1's INVEPT. */
export const UNSYNC_PRELUDE: ScriptStep[] = [
  { thread: 'vcpu0', until: 'guest:access', nth: 2 },
  { thread: 'vcpu1', until: 'guest:access', nth: 2 },
  { thread: 'vcpu2', until: 'handle_invept:guest INVEPT' },
];
/** Case 1: both vCPUs load P.unsync_children before either stores it (a lost increment). */
export const RACE_COUNT: ScriptStep[] = [
  ...UNSYNC_PRELUDE,
  { thread: 'vcpu0', until: 'mark_unsync:P.unsync_children.load' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_children.load' },
  { thread: 'vcpu0', until: 'mark_unsync:P.unsync_children.store' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_children.store' },
  { thread: 'vcpu0', until: null },
  { thread: 'vcpu1', until: null },
];
/** Case 2: both vCPUs load P's bitmap word before either stores it (a lost bit). */
export const RACE_BITMAP: ScriptStep[] = [
  ...UNSYNC_PRELUDE,
  { thread: 'vcpu0', until: 'mark_unsync:P.unsync_child_bitmap.store' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_child_bitmap.store' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_children.load' },
  { thread: 'vcpu0', until: null },
  { thread: 'vcpu1', until: null },
];
/** ... then vcpu2's INVEPT and L2 entry (the sync). */
export const THEN_SYNC: ScriptStep = { thread: 'vcpu2', until: null };

// ---- seed 001 (vcpu-apicv-state) ----
/** V accesses the APIC page twice; U inhibits APICv (or un-inhibits, with V already inactive). */
export function apicScenario(off: boolean, uninhibit = false, variants: string[] = []): Scenario {
  return {
    off: off ? ['vcpu-apicv-state'] : [],
    variants,
    params: { apicAccessSlot: true, vcpus: 1, apicvInhibitReasons: uninhibit ? 1 : 0 },
    program: {
      vcpus: [[{ kind: 'access', gfn: APIC_DEFAULT_GFN, write: false }, { kind: 'access', gfn: APIC_DEFAULT_GFN, write: false }]],
      ioctl: [{ kind: 'apicv', activate: uninhibit, bit: 0 }],
    },
    setup: (kvm) => {
      if (uninhibit) kvm.vcpus[0]!.apicv_active = false;
    },
  };
}
/** The seed-001 finding: the whole inhibit runs between the vCPU's VM-exit and its mmu_seq snapshot. */
export const APIC_S2C: ScriptStep[] = [
  { thread: 'vcpu0', until: 'kvm_vcpu_gfn_to_memslot:kvm->memslots.load' },
  { thread: 'ioctl', until: null },
  { thread: 'vcpu0', until: null },
];

// ---- seed 002 (mmio-gen-after-srcu) ----
/** A vCPU accesses gfn 20 (no slot) twice while the VMM creates slot [16, 24). */
export function mmioScenario(off: boolean, variants: string[] = [], generation = 0n): Scenario {
  return {
    off: off ? ['mmio-gen-after-srcu'] : [],
    variants,
    params: { generation },
    program: {
      vcpus: [[{ kind: 'access', gfn: 20, write: false }, { kind: 'access', gfn: 20, write: false }]],
      ioctl: [{ kind: 'memslot', req: { change: 'CREATE', id: 1, base_gfn: 16, npages: 8, userspace_addr: 0x9000, flags: 0 } }],
    },
  };
}
/** The seed's table: decide from the old memslots; publish and wait; tag with the new generation; access later. */
export const MMIO_TABLE: ScriptStep[] = [
  { thread: 'vcpu0', until: 'vcpu_cache_mmio_info:kvm->memslots.load' },
  { thread: 'ioctl', until: 'install_new_memslots:synchronize_srcu_expedited(kvm->srcu)' },
  { thread: 'vcpu0', until: 'guest:access' },
  { thread: 'ioctl', until: null },
  { thread: 'vcpu0', until: null },
];
/** An entry cached before the update is hit again after publication, during synchronize_srcu. */
export const MMIO_OLD_ENTRY: ScriptStep[] = [
  { thread: 'vcpu0', until: 'guest:access', nth: 2 },
  { thread: 'ioctl', until: 'install_new_memslots:synchronize_srcu_expedited(kvm->srcu)' },
  { thread: 'vcpu0', until: null },
];

// ---- seed 003 (roots-off-list) ----
/** vcpu0 maps gfns 1 and 2 under its root; vcpu1 (SMM) gets another root; the MM unmaps gfns 1-2; the VMM runs a fast zap. */
export function rootsScenario(off: boolean, variants: string[] = []): Scenario {
  return {
    off: off ? ['roots-off-list'] : [],
    variants,
    params: { smmVcpus: [1] },
    program: {
      vcpus: [[{ kind: 'access', gfn: 1, write: true }, { kind: 'access', gfn: 2, write: true }], [{ kind: 'access', gfn: 3, write: false }]],
      mm: [{ kind: 'unmap', hva: 0x1001, npages: 2 }],
      ioctl: [{ kind: 'zap-all-fast' }],
    },
  };
}
/** Every cond_resched point yields. */
export const YIELD = { 'tdp_mmu_iter_cond_resched need_resched': 1 };
/** The seed's table: the iterator holds a root and yields; the fast zap invalidates and zaps; the iterator resumes. */
export const ROOTS_TABLE: ScriptStep[] = [
  { thread: 'vcpu1', until: null }, // R1 (SMM), then R2 (address space 0) at the head of tdp_mmu_roots
  { thread: 'vcpu0', until: null },
  { thread: 'mm', until: 'tdp_mmu_iter_cond_resched:mmu_lock.write_lock' },
  { thread: 'ioctl', until: null },
  { thread: 'mm', until: null },
];

// ---- seed 004 (slots-arch-lock) ----
/** vcpu0 enters L2 (first shadow root → rmap activation), touching L1 gfn `l1gfn`; the VMM creates or deletes slot 1. */
export function rmapScenario(off: boolean, variants: string[], l1gfn: number, change: 'CREATE' | 'DELETE' = 'CREATE', mm = false): Scenario {
  return {
    off: off ? ['slots-arch-lock'] : [],
    variants,
    params: { slots: [{ id: 0, base_gfn: 0, npages: 16, userspace_addr: 0x1000 }, ...(change === 'DELETE' ? [{ id: 1, base_gfn: 32, npages: 8, userspace_addr: 0x9000 }] : [])] },
    program: {
      vcpus: [[{ kind: 'l2-access', l2gfn: 0 }]],
      ioctl: change === 'CREATE'
        ? [{ kind: 'memslot', req: { change: 'CREATE', id: 1, base_gfn: 16, npages: 8, userspace_addr: 0x9000, flags: 0 } }]
        : [{ kind: 'memslot', req: { change: 'DELETE', id: 1, base_gfn: 32, npages: 8, userspace_addr: 0x9000, flags: 0 } }],
      ...(mm ? { mm: [{ kind: 'unmap' as const, hva: 0x1000 + l1gfn, npages: 1 }] } : {}),
    },
    setup: (kvm) => buildEpt12(kvm, [{ l2gfn: 0, l1gfn, l2Table: 9, l1Table: 10 }]),
  };
}
/** Race 1 (Ben's 11 steps): I reads the flag and allocates nothing, A activates, I publishes, U uses the slot. */
export const RMAP_RACE1: ScriptStep[] = [
  { thread: 'ioctl', until: 'install_new_memslots:mn_invalidate_lock.lock' },
  { thread: 'vcpu0', until: 'FNAME(walk_addr):gpte.load' },
  { thread: 'ioctl', until: 'install_new_memslots:synchronize_srcu_expedited(kvm->srcu)' },
  { thread: 'vcpu0', until: null },
  { thread: 'ioctl', until: null },
];
/** Race 2: I duplicates the memslots, A activates and fills the published rmaps, I assigns fresh rmaps and publishes. */
export const RMAP_RACE2: ScriptStep[] = [
  { thread: 'ioctl', until: 'install_new_memslots:old_memslots->generation.load' },
  { thread: 'vcpu0', until: null },
  { thread: 'ioctl', until: null },
];
/** DELETE with the activation inside the window where slots_arch_lock is dropped (1.2.I 4b–4d). */
export const RMAP_DELETE_WINDOW: ScriptStep[] = [
  { thread: 'ioctl', until: 'kvm_mmu_zap_all_fast:mmu_lock.write_lock' },
  { thread: 'vcpu0', until: null },
  { thread: 'ioctl', until: null },
];
