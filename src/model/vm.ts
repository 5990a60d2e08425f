/**
 * Putting a VM together: a `Kvm` in an execution, its threads (vCPUs, the
 * VMM's ioctl thread, the primary MM, the RCU actor) running programs of
 * operations, guest memory set-up for nested EPT, and the end-of-execution
 * oracles. Harnesses and scenario tests build on this.
 */
import { call, type Execution, type SimThread, type Step } from '../runtime';
import { kvm_request_apicv_update } from './apicv';
import { kvm_mmu_zap_all_fast } from './fast-zap';
import { GuestPt, Kvm, type KvmParams } from './kvm';
import { APIC_DEFAULT_GFN } from './memslots';
import { type MemslotRequest, kvm_set_memory_region } from './memslot-ops';
import { Sp } from './mmu-page';
import { mm_unmap_range, sptesMappingAny } from './mmu-notifier';
import { Page } from './primary-mm';
import { NESTED_ROOT_LEVEL, checkUnsyncInvariants } from './shadow-mmu';
import { isPresent, pfnOf, ptIndex } from './spte';
import type { ModelConfig } from './switches';
import { TDP_ROOT_LEVEL } from './tdp-mmu';
import { type VcpuOp, hardwareWalk, kvm_vcpu_run } from './vcpu-run';

/** What the VMM's ioctl thread (or a kernel worker) can do. */
export type IoctlOp =
  | { kind: 'memslot'; req: MemslotRequest }
  /** An APICv inhibit (activate = false) or un-inhibit of reason `bit`. */
  | { kind: 'apicv'; activate: boolean; bit: number }
  /** `set_nx_huge_pages`: for the VM, take slots_lock and run kvm_mmu_zap_all_fast. */
  | { kind: 'zap-all-fast' };

/** What the primary MM can do. */
export type MmOp = { kind: 'unmap'; hva: number; npages: number };

/** The body of the VMM ioctl thread. */
export function* ioctlThread(t: SimThread, kvm: Kvm, ops: readonly IoctlOp[]): Step {
  for (const op of ops) {
    switch (op.kind) {
      case 'memslot':
        yield* call(kvm_set_memory_region(t, kvm, op.req));
        break;
      case 'apicv':
        yield* call(kvm_request_apicv_update(t, kvm, op.activate, op.bit));
        break;
      case 'zap-all-fast':
        yield* kvm.slots_lock.lock(t, 'set_nx_huge_pages');
        yield* call(kvm_mmu_zap_all_fast(t, kvm));
        yield* kvm.slots_lock.unlock(t, 'set_nx_huge_pages');
        break;
    }
  }
}

/** The body of the primary-MM thread. */
export function* mmThread(t: SimThread, kvm: Kvm, ops: readonly MmOp[]): Step {
  for (const op of ops) yield* call(mm_unmap_range(t, kvm, op.hva, op.hva + op.npages));
}

/** A VM's threads: what each runs. */
export interface VmProgram {
  vcpus: VcpuOp[][];
  ioctl?: IoctlOp[];
  mm?: MmOp[];
}

/**
 * Builds L1's EPT12 in guest memory: a 3-level table rooted at
 * `kvm.ept12_root_gfn`, mapping each L2 gfn of `map` to an L1 gfn, with the
 * intermediate tables at the given gfns. `tables[level]` lists the table
 * gfns used at that level (level 2 and 1), chosen by the L2 gfn's index.
 */
export function buildEpt12(kvm: Kvm, map: { l2gfn: number; l1gfn: number; l2Table: number; l1Table: number }[]): void {
  const get = (gfn: number, level: number): GuestPt => {
    let g = kvm.guest_pts.get(gfn);
    if (g === undefined) {
      g = new GuestPt(kvm.ex, gfn, level);
      kvm.guest_pts.set(gfn, g);
    }
    return g;
  };
  const root = get(kvm.ept12_root_gfn, NESTED_ROOT_LEVEL);
  for (const m of map) {
    const pd = get(m.l2Table, 2);
    const pt = get(m.l1Table, 1);
    root.entries.set(ptIndex(m.l2gfn, 3), pd.gfn);
    pd.entries.set(ptIndex(m.l2gfn, 2), pt.gfn);
    pt.entries.set(ptIndex(m.l2gfn, 1), m.l1gfn);
  }
}

/** Creates the VM, spawns its threads and registers the end-of-execution oracles. */
export function spawnVm(ex: Execution, config: ModelConfig, params: Partial<KvmParams>, program: VmProgram, setup?: (kvm: Kvm) => void): Kvm {
  const kvm = new Kvm(ex, config, { ...params, vcpus: Math.max(params.vcpus ?? 0, program.vcpus.length) });
  setup?.(kvm);
  program.vcpus.forEach((ops, i) => ex.spawn(`vcpu${i}`, (t) => kvm_vcpu_run(t, kvm, kvm.vcpus[i]!, ops)));
  if (program.ioctl !== undefined && program.ioctl.length > 0) ex.spawn('ioctl', (t) => ioctlThread(t, kvm, program.ioctl!));
  if (program.mm !== undefined && program.mm.length > 0) ex.spawn('mm', (t) => mmThread(t, kvm, program.mm!));
  kvm.rcu.spawnActor('rcu');
  registerOracles(ex, kvm);
  return kvm;
}

/** The quiescence oracles (every mechanism's end-of-execution invariants). */
export function registerOracles(ex: Execution, kvm: Kvm): void {
  const inv = (ok: boolean, name: string, detail: string, message: () => string): void => {
    if (!ok) ex.invariantFailed(null, name, detail, message());
  };
  ex.onQuiescence('unsync', () => checkUnsyncInvariants({ invariant: (c, n, d, m) => inv(c, n, d, typeof m === 'string' ? () => m : m) }, kvm));
  ex.onQuiescence('root-refcount', () => {
    // Every reference is owned by a vCPU's root pointer once every iterator and fast zap is done.
    for (const f of kvm.frames.values()) {
      if (!(f instanceof Sp) || f.freed || !f.tdp_mmu_page || !f.isRoot) continue;
      const owners = kvm.vcpus.filter((v) => v.root_hpa === f).length;
      inv(f.tdp_mmu_root_count.value === owners, 'root-refcount', 'TDP MMU root refcount differs from its owners',
        () => `${f.name}.tdp_mmu_root_count = ${f.tdp_mmu_root_count.value} at quiescence but ${owners} vCPUs use it`);
    }
  });
  ex.onQuiescence('apicv', () => {
    // Seed 001 oracle 3: inhibited and every vCPU updated ⇒ no root maps the APIC gfn.
    if (kvm.apic_access_page === null || kvm.apicv_inhibit_reasons === 0) return;
    if (kvm.vcpus.some((v) => v.apicv_active)) return;
    for (const f of kvm.frames.values()) {
      if (!(f instanceof Sp) || f.freed || !f.tdp_mmu_page || !f.isRoot) continue;
      const e = hardwareWalk(null, kvm, f, APIC_DEFAULT_GFN, TDP_ROOT_LEVEL);
      inv(!(isPresent(e) && pfnOf(e) === kvm.apic_access_page.pfn), 'apic-mapped-while-inhibited', 'APIC-access page mapped while APICv is inhibited',
        () => `${f.name} maps the APIC gfn although APICv is inhibited and every vCPU has applied it`);
    }
  });
  ex.onQuiescence('rmaps', () => {
    // Seed 004 oracle 4: rmap arrays unreachable from the published memslots but holding entries.
    const live = new Set(kvm.memslots.slots.map((s) => s.arch.rmap));
    for (const r of kvm.allRmaps) {
      if (r.freed || live.has(r)) continue;
      inv(r.size === 0, 'rmap-entries-lost', 'rmap array with entries dropped from the memslots',
        () => `${r.name} holds ${r.size} rmap entries but no published memslot refers to it: those SPTEs can no longer be found by rmap-based zaps`);
    }
    // Every present shadow leaf must be recorded in its slot's published rmap.
    for (const sp of kvm.active_mmu_pages) {
      if (sp.freed) continue;
      for (const [idx, gfn] of sp.gfns) {
        if (!isPresent(sp.spt[idx]!)) continue;
        const slot = kvm.memslots.find(gfn);
        const rec = slot?.arch.rmap?.entries.get(gfn)?.some((p) => p.sp === sp && p.idx === idx) ?? false;
        inv(rec, 'shadow-spte-without-rmap', 'shadow SPTE missing from its slot\'s rmap',
          () => `${sp.name}[${idx}] maps gfn ${gfn} but ${slot === null ? 'no slot covers it' : `${slot!.describe()}'s rmap ${slot!.arch.rmap?.name ?? 'NULL'} does not record it`}`);
      }
    }
  });
  ex.onQuiescence('freed-pages', () => {
    // One scan of the page tables for every freed page (in frame order), none without one.
    const freed: Page[] = [];
    for (const f of kvm.frames.values()) if (f instanceof Page && f.freed) freed.push(f);
    if (freed.length === 0) return;
    const pfns = new Set(freed.map((p) => p.pfn));
    const mapped = sptesMappingAny(kvm, (pfn) => pfns.has(pfn));
    for (const f of freed) {
      const m = mapped.get(f.pfn) ?? [];
      inv(m.length === 0, 'freed-page-mapped', 'page freed while an SPTE maps it', () => `${f.name} is freed but ${m.join(', ')} map it`);
    }
  });
}
