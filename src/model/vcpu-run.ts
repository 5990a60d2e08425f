/**
 * The vCPU thread (1.1.A): the KVM_RUN loop with request servicing, root
 * (re)load, the IN_GUEST_MODE / request handshake, guest accesses through
 * the current root's SPTEs, VM-exits and their handling (TDP page faults,
 * MMIO faults, nested-EPT faults, INVEPT). The vCPU is inside `kvm->srcu`
 * at all times except in guest mode, and can be preempted at any step
 * outside guest mode.
 */
import { call, callLabel, type SimThread, type Step, spinPoint } from '../runtime';
import { kvm_vcpu_update_apicv } from './apicv';
import type { Kvm } from './kvm';
import { APIC_DEFAULT_GFN } from './memslots';
import { Sp } from './mmu-page';
import { handle_mmio_page_fault, kvm_apicv_activated, kvm_tdp_page_fault } from './page-fault';
import { Page } from './primary-mm';
import {
  NESTED_ROOT_LEVEL, kvm_mmu_free_guest_roots, kvm_mmu_pte_write, kvm_mmu_sync_roots, mmu_alloc_shadow_roots, mmu_free_root_page, nested_ept_page_fault,
} from './shadow-mmu';
import { isLeaf, isMmio, isPresent, isWritable, pfnOf, ptIndex } from './spte';
import { TDP_ROOT_LEVEL, kvm_tdp_mmu_get_vcpu_root_hpa, kvm_tdp_mmu_put_root } from './tdp-mmu';
import {
  EXITING_GUEST_MODE, IN_GUEST_MODE, KVM_REQ_APICV_UPDATE, KVM_REQ_EVENT, KVM_REQ_MMU_RELOAD, KVM_REQ_MMU_SYNC, KVM_REQ_TLB_FLUSH,
  OUTSIDE_GUEST_MODE, type Vcpu,
} from './vcpu';

/** What a vCPU's program can do (one guest action each). */
export type VcpuOp =
  /** L1 reads or writes guest-physical page `gfn` (RAM, MMIO or the APIC page). */
  | { kind: 'access'; gfn: number; write: boolean }
  /** L1 writes entry `idx` of its EPT12 table at `table` (a guest page-table write). */
  | { kind: 'ept-write'; table: number; idx: number; value: number }
  /** L1 executes INVEPT (all contexts): KVM frees the guest MMU's roots. */
  | { kind: 'invept' }
  /** L2 touches its guest-physical page `l2gfn` (nested VM-entry, access, VM-exit to L1). */
  | { kind: 'l2-access'; l2gfn: number };

/** Result of one guest step. */
type GuestStep = 'done' | 'kicked' | { exit: 'ept-violation' | 'ept-misconfig'; gfn: number };

/** The vCPU thread body: KVM_RUN, the program's operations, return to userspace. */
export function* kvm_vcpu_run(t: SimThread, kvm: Kvm, vcpu: Vcpu, ops: readonly VcpuOp[]): Step {
  vcpu.srcu_idx = yield* kvm.srcu.readLock(t, 'kvm_arch_vcpu_ioctl_run');
  for (const op of ops) {
    switch (op.kind) {
      case 'access':
        yield* call(guestAccess(t, kvm, vcpu, op.gfn, op.write, null));
        break;
      case 'ept-write':
        yield* call(guestAccess(t, kvm, vcpu, op.table, true, op));
        break;
      case 'invept':
        // The guest's flush: writes to its EPT12 tables before this step must be visible after it.
        yield 'handle_invept:guest INVEPT';
        vcpu.flush_versions = new Map([...kvm.guest_pts].map(([gfn, gpt]) => [gfn, gpt.version]));
        yield* vmExitIfInGuest(t, kvm, vcpu, 'handle_invept');
        yield* call(kvm_mmu_free_guest_roots(t, kvm, vcpu));
        break;
      case 'l2-access':
        yield* call(l2Access(t, kvm, vcpu, op.l2gfn));
        break;
    }
  }
  yield* vmExitIfInGuest(t, kvm, vcpu, 'vcpu_run');
  yield* kvm.srcu.readUnlock(t, vcpu.srcu_idx, 'kvm_arch_vcpu_ioctl_run');
}

// ---------------------------------------------------------------------------
// Entry and exit

/**
 * `vcpu_enter_guest` up to the moment of guest entry: service requests,
 * reload the MMU, set IN_GUEST_MODE, leave SRCU, and check for requests
 * again (a request raised before the mode store is seen here; one raised
 * after it is delivered by a kick). Loops until it enters.
 */
function* vcpu_enter_guest(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  for (;;) {
    yield 'vcpu_enter_guest:vcpu->requests.load';
    const reqs = t.load(vcpu, 'requests');
    if (reqs & KVM_REQ_MMU_RELOAD) {
      yield* kvm_check_request(t, vcpu, KVM_REQ_MMU_RELOAD, 'KVM_REQ_MMU_RELOAD');
      yield* call(kvm_mmu_unload(t, kvm, vcpu));
    }
    if (reqs & KVM_REQ_MMU_SYNC) {
      yield* kvm_check_request(t, vcpu, KVM_REQ_MMU_SYNC, 'KVM_REQ_MMU_SYNC');
      yield* call(kvm_mmu_sync_roots(t, kvm, vcpu));
    }
    if (reqs & KVM_REQ_TLB_FLUSH) yield* kvm_check_request(t, vcpu, KVM_REQ_TLB_FLUSH, 'KVM_REQ_TLB_FLUSH');
    if (reqs & KVM_REQ_APICV_UPDATE) {
      yield* kvm_check_request(t, vcpu, KVM_REQ_APICV_UPDATE, 'KVM_REQ_APICV_UPDATE');
      yield* call(kvm_vcpu_update_apicv(t, kvm, vcpu));
    }
    if (reqs & KVM_REQ_EVENT) yield* kvm_check_request(t, vcpu, KVM_REQ_EVENT, 'KVM_REQ_EVENT');
    // kvm_mmu_reload
    yield 'kvm_mmu_reload:vcpu->arch.mmu->root_hpa.load';
    if (vcpu.guest_mode) {
      if (t.load(vcpu, 'guest_root_hpa') === null) yield* call(mmu_alloc_shadow_roots(t, kvm, vcpu));
    } else if (t.load(vcpu, 'root_hpa') === null) {
      yield* call(kvm_mmu_load(t, kvm, vcpu));
    }
    yield 'vcpu_enter_guest:vcpu->mode.store(IN_GUEST_MODE)';
    t.store(vcpu, 'mode', IN_GUEST_MODE);
    yield* kvm.srcu.readUnlock(t, vcpu.srcu_idx, 'vcpu_enter_guest');
    // kvm_vcpu_exit_request
    yield 'kvm_vcpu_exit_request:vcpu->requests.load';
    if (t.load(vcpu, 'mode') === EXITING_GUEST_MODE || t.load(vcpu, 'requests') !== 0) {
      yield 'vcpu_enter_guest:vcpu->mode.store(OUTSIDE_GUEST_MODE)';
      t.store(vcpu, 'mode', OUTSIDE_GUEST_MODE);
      t.store(vcpu, 'exits', vcpu.exits + 1);
      vcpu.srcu_idx = yield* kvm.srcu.readLock(t, 'vcpu_enter_guest');
      continue;
    }
    // Guest entry.
    const vmActive = yield* kvm_apicv_activated(t, kvm, 'vcpu_enter_guest');
    t.warnOnOnce(vmActive !== vcpu.apicv_active, 'vcpu_enter_guest', 'APICv state of the vCPU differs from the VM\'s',
      () => `${vcpu.name} enters the guest with APICv ${vcpu.apicv_active ? 'active' : 'inactive'} while the VM's is ${vmActive ? 'active' : 'inhibited'}`);
    checkGuestEntry(t, kvm, vcpu);
    return;
  }
}

/** `kvm_check_request`: test and clear one request bit (one atomic step). */
function* kvm_check_request(t: SimThread, vcpu: Vcpu, req: number, name: string): Step {
  yield callLabel('vcpu_enter_guest', 'kvm_check_request', name);
  t.store(vcpu, 'requests', vcpu.requests & ~req);
}

/** VM-exit: leave guest mode, re-enter the SRCU read section. */
function* vm_exit(t: SimThread, kvm: Kvm, vcpu: Vcpu, why: string): Step {
  yield callLabel('vcpu_enter_guest', 'vm_exit', why);
  t.store(vcpu, 'mode', OUTSIDE_GUEST_MODE);
  t.store(vcpu, 'exits', vcpu.exits + 1);
  vcpu.srcu_idx = yield* kvm.srcu.readLock(t, 'vcpu_enter_guest');
}

function* vmExitIfInGuest(t: SimThread, kvm: Kvm, vcpu: Vcpu, why: string): Step {
  if (vcpu.mode !== OUTSIDE_GUEST_MODE) yield* vm_exit(t, kvm, vcpu, why);
}

/** `kvm_mmu_load` for the TDP MMU root: allocate or reuse a root under the write lock. */
function* kvm_mmu_load(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  yield* kvm.mmu_lock.writeLock(t, 'mmu_alloc_direct_roots');
  const root = yield* call(kvm_tdp_mmu_get_vcpu_root_hpa(t, kvm, vcpu.as_id));
  yield 'mmu_alloc_direct_roots:vcpu->arch.mmu->root_hpa.store';
  t.store(vcpu, 'root_hpa', root);
  yield* kvm.mmu_lock.writeUnlock(t, 'mmu_alloc_direct_roots');
}

/** `kvm_mmu_unload` → `kvm_mmu_free_roots` for root_mmu and guest_mmu. */
function* kvm_mmu_unload(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  yield* kvm.mmu_lock.writeLock(t, 'kvm_mmu_free_roots');
  yield 'mmu_free_root_page:vcpu->arch.mmu->root_hpa.load';
  const root = t.load(vcpu, 'root_hpa');
  if (root !== null) {
    yield* call(kvm_tdp_mmu_put_root(t, kvm, root, false));
    yield 'kvm_mmu_free_roots:vcpu->arch.mmu->root_hpa.store';
    t.store(vcpu, 'root_hpa', null);
  }
  yield* mmu_free_root_page(t, kvm, vcpu);
  yield* kvm.mmu_lock.writeUnlock(t, 'kvm_mmu_free_roots');
}

// ---------------------------------------------------------------------------
// Guest accesses

/**
 * The hardware walk of `root` for `gfn` (one step; no TLB is modelled): the
 * leaf, MMIO or non-present SPTE it ends on. With `t` null it reads without a
 * step (for oracles).
 */
export function hardwareWalk(t: SimThread | null, kvm: Kvm, root: Sp, gfn: number, levels: number): number {
  let sp: Sp = root;
  for (let level = levels; level >= 1; level--) {
    const idx = ptIndex(gfn, level);
    const e = t === null ? sp.spt[idx]! : t.loadAt(sp, 'spt', idx);
    if (level === 1 || !isPresent(e) || isLeaf(e)) return e;
    const child = kvm.frame(pfnOf(e));
    if (!(child instanceof Sp)) return 0;
    sp = child;
  }
  return 0;
}

/** One guest step in guest mode: notice a kick, or access `gfn` through the current root. */
function* guestStep(t: SimThread, kvm: Kvm, vcpu: Vcpu, gfn: number, write: boolean, eptWrite: Extract<VcpuOp, { kind: 'ept-write' }> | null): Step<GuestStep> {
  yield 'guest:access';
  if (t.load(vcpu, 'mode') === EXITING_GUEST_MODE) return 'kicked';
  const root = vcpu.root_hpa!;
  const e = hardwareWalk(t, kvm, root, gfn, TDP_ROOT_LEVEL);
  if (isMmio(e)) return { exit: 'ept-misconfig', gfn };
  if (!isPresent(e) || (write && !isWritable(e))) return { exit: 'ept-violation', gfn };
  const page = kvm.frame(pfnOf(e));
  if (page instanceof Page) {
    t.touch(page, write ? 'guest write' : 'guest read');
    if (page === kvm.apic_access_page) {
      t.invariant(vcpu.apicv_active, 'apic-access-bypassed', 'APIC access bypassed emulation',
        () => `${vcpu.name} (APICv inactive) reaches the APIC-access page through a present SPTE: the access is lost`);
    }
    if (write) page.writes++;
  }
  if (eptWrite !== null) guestWriteEpt(t, kvm, eptWrite);
  if (t.ex.tracing) t.note(`gfn ${gfn} ${write ? 'write' : 'read'} hits pfn ${pfnOf(e)}`);
  return 'done';
}

/** The effect of L1's write to its EPT12 table page: new entry, new version. */
function guestWriteEpt(t: SimThread, kvm: Kvm, op: Extract<VcpuOp, { kind: 'ept-write' }>): void {
  const gpt = kvm.guest_pts.get(op.table);
  if (gpt === undefined) return;
  const entries = t.load(gpt, 'entries');
  entries.set(op.idx, op.value);
  t.store(gpt, 'version', gpt.version + 1);
}

/**
 * An L1 guest access: enter the guest, access through the TDP root; on an
 * EPT violation take the TDP page fault, on an EPT misconfiguration the MMIO
 * fault; re-enter after RET_PF_RETRY / FIXED until the access completes or
 * is emulated.
 */
function* guestAccess(t: SimThread, kvm: Kvm, vcpu: Vcpu, gfn: number, write: boolean, eptWrite: Extract<VcpuOp, { kind: 'ept-write' }> | null): Step {
  vcpu.guest_mode = false;
  for (;;) {
    if (vcpu.mode === OUTSIDE_GUEST_MODE) yield* call(vcpu_enter_guest(t, kvm, vcpu));
    const r = yield* guestStep(t, kvm, vcpu, gfn, write, eptWrite);
    if (r === 'done') return;
    if (r === 'kicked') {
      yield* vm_exit(t, kvm, vcpu, 'kick');
      continue;
    }
    yield* vm_exit(t, kvm, vcpu, r.exit === 'ept-misconfig' ? 'EPT_MISCONFIG' : 'EPT_VIOLATION');
    let res = r.exit === 'ept-misconfig' ? yield* call(handle_mmio_page_fault(t, kvm, vcpu, gfn)) : 'RET_PF_INVALID';
    if (res === 'RET_PF_INVALID') res = yield* call(kvm_tdp_page_fault(t, kvm, vcpu, gfn, write));
    if (res === 'RET_PF_EMULATE') {
      yield* call(emulate(t, kvm, gfn, write, eptWrite));
      return;
    }
    if (res === 'RET_PF_RETRY') yield spinPoint('kvm_mmu_page_fault:RET_PF_RETRY');
  }
}

/** Instruction emulation of an access KVM did not map: MMIO, the APIC page, or a write-protected guest page table. */
function* emulate(t: SimThread, kvm: Kvm, gfn: number, write: boolean, eptWrite: Extract<VcpuOp, { kind: 'ept-write' }> | null): Step {
  yield 'x86_emulate_instruction:emulate';
  if (t.ex.tracing) t.note(`emulate ${write ? 'write' : 'read'} of gfn ${gfn}${gfn === APIC_DEFAULT_GFN ? ' (APIC)' : ''}`);
  if (eptWrite !== null) {
    const gpt = kvm.guest_pts.get(eptWrite.table);
    if (gpt !== undefined) {
      // emulator_write_phys: write guest memory, then the page-track notifier updates the shadow pages.
      yield 'emulator_write_phys:kvm_vcpu_write_guest';
      guestWriteEpt(t, kvm, eptWrite);
      yield* call(kvm_mmu_pte_write(t, kvm, gpt));
    }
  }
}

/** An L2 access: nested VM-entry, access through the guest MMU's shadow root, nested fault until mapped, VM-exit to L1. */
function* l2Access(t: SimThread, kvm: Kvm, vcpu: Vcpu, l2gfn: number): Step {
  vcpu.guest_mode = true;
  try {
    for (;;) {
      if (vcpu.mode === OUTSIDE_GUEST_MODE) yield* call(vcpu_enter_guest(t, kvm, vcpu));
      yield 'guest:l2_access';
      if (t.load(vcpu, 'mode') === EXITING_GUEST_MODE) {
        yield* vm_exit(t, kvm, vcpu, 'kick');
        continue;
      }
      const root = vcpu.guest_root_hpa;
      const e = root === null ? 0 : hardwareWalk(t, kvm, root, l2gfn, NESTED_ROOT_LEVEL);
      if (isPresent(e)) {
        const page = kvm.frame(pfnOf(e));
        if (page instanceof Page) t.touch(page, 'L2 access');
        yield* vm_exit(t, kvm, vcpu, 'nested VM-exit');
        return;
      }
      yield* vm_exit(t, kvm, vcpu, 'EPT_VIOLATION (L2)');
      const res = yield* call(nested_ept_page_fault(t, kvm, vcpu, l2gfn));
      if (res === 'RET_PF_INVALID') return; // reflected to L1 as an EPT violation
      if (res === 'RET_PF_RETRY') yield spinPoint('kvm_mmu_page_fault:RET_PF_RETRY');
    }
  } finally {
    vcpu.guest_mode = false;
  }
}

// ---------------------------------------------------------------------------
// Guest-entry oracles

/**
 * At the moment of guest entry: the vCPU's root is not freed, and a vCPU whose
 * APICv is inactive has no present SPTE for the APIC-access page (seed 001
 * oracle 1).
 */
function checkGuestEntry(t: SimThread, kvm: Kvm, vcpu: Vcpu): void {
  const root = vcpu.guest_mode ? vcpu.guest_root_hpa : vcpu.root_hpa;
  if (root === null) return;
  // An invalid root is possible here (invalidation precedes the reload
  // request and its kick); a freed one never is: the vCPU holds a reference.
  t.invariant(!root.freed, 'entry-on-freed-root', 'guest entered on a freed root',
    () => `${vcpu.name} enters the guest on ${root.name}, which has been freed`);
  if (!vcpu.guest_mode && kvm.apic_access_page !== null && !vcpu.apicv_active) {
    const e = hardwareWalk(null, kvm, root, APIC_DEFAULT_GFN, TDP_ROOT_LEVEL);
    t.invariant(!(isPresent(e) && pfnOf(e) === kvm.apic_access_page.pfn), 'apic-page-mapped-at-entry',
      'APIC-access page mapped at guest entry with APICv inactive',
      () => `${vcpu.name} enters the guest with APICv inactive while ${root.name} maps the APIC gfn to the APIC-access page: APIC accesses would bypass emulation`);
  }
}
