import { type Execution, KObject, Refcount } from '../runtime';
import { ListNode } from './list';
import { PT_ENTRIES, showSpte } from './spte';

/** A parent SPTE pointer (`u64 *sptep`): the SP holding it and the index in its `spt`. */
export interface ParentPte {
  readonly sp: Sp;
  readonly idx: number;
}

/**
 * `struct kvm_mmu_page`: one page table of the TDP MMU (direct) or of a
 * shadow MMU (indirect, e.g. the nested-EPT guest MMU). Field comments give
 * the lock that guards them, as in arch/x86/include/asm/kvm_host.h.
 */
export class Sp extends KObject {
  /** role.invalid — set under mmu_lock held for write. */
  role_invalid = false;
  /**
   * The page table. TDP MMU: changed with cmpxchg/xchg under mmu_lock held
   * for read, with plain stores under the write lock. Shadow MMU: mmu_lock
   * held for write.
   */
  readonly spt = takeSpt();
  /** tdp_mmu_root_count — refcount_t, TDP MMU roots only. */
  readonly tdp_mmu_root_count: Refcount;
  /** root_count — shadow roots; mmu_lock held for write. */
  root_count = 0;
  /** unsync — 0→1 in mmu_try_to_unsync_pages (under mmu_unsync_pages_lock when tdp-unsync-lock is on); 1→0 under mmu_lock write. */
  unsync = false;
  /** unsync_children — unsigned int; increments as `unsync`, decrements under mmu_lock write. Plain, non-atomic. */
  unsync_children = 0;
  /** unsync_child_bitmap — 512 bits as 8 u64 words; same rule as unsync_children; non-atomic bitops. */
  readonly unsync_child_bitmap: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
  /** parent_ptes — mmu_lock held for write. */
  readonly parent_ptes: ParentPte[] = [];
  /** gfns — indirect SPs: the gfn each leaf SPTE maps (kvm_mmu_page_get_gfn); mmu_lock held for write. */
  readonly gfns = new Map<number, number>();
  /** link — in tdp_mmu_roots / tdp_mmu_pages (tdp_mmu_pages_lock under the read lock) or active_mmu_pages (write lock). */
  readonly link: ListNode;
  /**
   * Model scaffolding (not in the kernel): the guest page-table version this
   * indirect SP last read (kvm_sync_page / creation), for the missed-sync oracle.
   */
  synced_version = 0;

  constructor(
    ex: Execution,
    /** role.level — immutable. */
    readonly level: number,
    /** role.direct — immutable. */
    readonly direct: boolean,
    /** gfn — immutable: the first gfn mapped (direct) or the guest page table shadowed (indirect). */
    readonly gfn: number,
    /** tdp_mmu_page — immutable. */
    readonly tdp_mmu_page: boolean,
    /** Frame of this page table (what a parent's non-leaf SPTE points to). */
    readonly pfn: number,
    /** mmu_valid_gen — set at creation. */
    readonly mmu_valid_gen: number,
    name: string,
  ) {
    super(ex, 'kvm_mmu_page', name);
    this.tdp_mmu_root_count = new Refcount(this, 'tdp_mmu_root_count', 0);
    this.link = new ListNode(this, false, `${name}.link`);
  }

  /** Is this SP a root (no parent)? Set by the code that creates roots. */
  isRoot = false;
  /** role.smm — the address space (kvm_mmu_page_as_id); immutable after creation. */
  as_id = 0;

  override showField(field: string, value: unknown): string | null {
    if (field.startsWith('spt[') && typeof value === 'number') return showSpte(value);
    if (field.startsWith('unsync_child_bitmap[') && typeof value === 'bigint') return `0x${value.toString(16)}`;
    return null;
  }
}

/**
 * Page-table arrays are 4 KB each; a fuzzing run makes thousands of VMs, so
 * harnesses hand the arrays of a finished execution back for reuse (they
 * come back zeroed). Only for executions nothing refers to any more.
 */
const SPT_POOL: Float64Array[] = [];

function takeSpt(): Float64Array {
  return SPT_POOL.pop() ?? new Float64Array(PT_ENTRIES);
}

/** A copy of a page table for a set-up snapshot's copy (from the pool when it is one); other arrays are sliced. */
export function copySpt(a: ArrayBufferView): ArrayBufferView {
  if (a instanceof Float64Array && a.length === PT_ENTRIES) {
    const b = takeSpt();
    b.set(a);
    return b;
  }
  return (a as Uint8Array).slice();
}

/** Returns the page tables of a finished execution's SPs to the pool. */
export function recycleSpts(sps: Iterable<unknown>): void {
  for (const sp of sps) {
    if (sp instanceof Sp && SPT_POOL.length < 4096) {
      sp.spt.fill(0);
      SPT_POOL.push(sp.spt);
    }
  }
}

/** popcount of the unsync bitmap (oracle helper). */
export function bitmapPopcount(words: readonly bigint[]): number {
  let n = 0;
  for (const w of words) {
    let x = w;
    while (x !== 0n) {
      x &= x - 1n;
      n++;
    }
  }
  return n;
}

/** The set bit indexes of a bitmap, ascending. */
export function bitmapIndexes(words: readonly bigint[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 0n) continue;
    // Two 32-bit halves as numbers: bit tests on numbers, not 64 BigInt shifts.
    const halves = [Number(w & 0xffffffffn), Number((w >> 32n) & 0xffffffffn)];
    for (let h = 0; h < 2; h++) {
      const x = halves[h]!;
      for (let b = 0; b < 32; b++) if (((x >>> b) & 1) !== 0) out.push(i * 64 + h * 32 + b);
    }
  }
  return out;
}
