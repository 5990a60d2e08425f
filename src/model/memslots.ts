import { type Execution, KObject } from '../runtime';
import type { ParentPte } from './mmu-page';

/** `KVM_MEMSLOT_INVALID`: set in the copy published while a slot is deleted or moved. */
export const KVM_MEMSLOT_INVALID = 1 << 16;

/** Slot id of the APIC-access page's private memslot. */
export const APIC_ACCESS_PAGE_PRIVATE_MEMSLOT = 510;
/** gfn of the APIC base (APIC_DEFAULT_PHYS_BASE >> PAGE_SHIFT). */
export const APIC_DEFAULT_GFN = 0xfee00;
/** Private (not user-visible) slots have ids at or above this. */
export const KVM_USER_MEM_SLOTS = 509;

/**
 * A memslot's rmap for 4K SPTEs (`slot->arch.rmap[0]`): gfn -> the shadow
 * SPTEs that map it. Allocated lazily (seed 004), freed with the slot.
 * Entries change under mmu_lock held for write.
 */
export class Rmap extends KObject {
  /** rmap heads — mmu_lock held for write. */
  readonly entries = new Map<number, ParentPte[]>();
  constructor(ex: Execution, name: string) {
    super(ex, 'rmap', name);
  }

  /** Number of SPTEs recorded. */
  get size(): number {
    let n = 0;
    for (const v of this.entries.values()) n += v.length;
    return n;
  }
}

/** `struct kvm_arch_memory_slot`: pointers copied by value with the slot. */
export interface MemslotArch {
  /** arch.rmap[0] — null until allocated; written under slots_arch_lock outside kvm_arch_prepare_memory_region. */
  rmap: Rmap | null;
  /** arch.gfn_track[KVM_PAGE_TRACK_WRITE] allocated? (write-tracking array) */
  write_track: boolean;
}

/**
 * `struct kvm_memory_slot` — a value type: every memslots array holds its
 * own copy, and `kvm_dup_memslots` copies them (sharing the arch pointers).
 */
export class Memslot {
  constructor(
    readonly id: number,
    public base_gfn: number,
    public npages: number,
    public userspace_addr: number,
    public flags: number,
    public arch: MemslotArch,
  ) {}

  /** Struct copy (the arch pointers are shared, as in C). */
  copy(): Memslot {
    return new Memslot(this.id, this.base_gfn, this.npages, this.userspace_addr, this.flags, { ...this.arch });
  }

  contains(gfn: number): boolean {
    return gfn >= this.base_gfn && gfn < this.base_gfn + this.npages;
  }

  /** `__gfn_to_hva_memslot` (hvas are page numbers in the model). */
  hvaOf(gfn: number): number {
    return this.userspace_addr + (gfn - this.base_gfn);
  }

  get invalid(): boolean {
    return (this.flags & KVM_MEMSLOT_INVALID) !== 0;
  }

  describe(): string {
    const inv = this.invalid ? ' INVALID' : '';
    return `slot ${this.id} [gfn ${this.base_gfn}+${this.npages}${inv}]`;
  }
}

/**
 * `struct kvm_memslots`: one address space's array, published through SRCU
 * (`kvm->memslots[0]`). An array is never changed once published, except its
 * slots' arch fields under slots_arch_lock; superseded arrays are freed after
 * synchronize_srcu.
 */
export class Memslots extends KObject {
  /** The slots, by id — a published array's list is read-only. */
  slots: Memslot[];
  /** generation — u64, written by the updater before publication (and, switch on, after sync); read locklessly. */
  generation: bigint;

  /** Model scaffolding: step at which this array was published (-1: never), and whether install_new_memslots returned. */
  published_step = -1;
  install_done = false;

  constructor(ex: Execution, slots: Memslot[], generation: bigint, name: string) {
    super(ex, 'kvm_memslots', name);
    this.slots = slots;
    this.generation = generation;
  }

  /** `search_memslots` / `__gfn_to_memslot` (part of the caller's step). */
  find(gfn: number): Memslot | null {
    for (const s of this.slots) if (s.contains(gfn)) return s;
    return null;
  }

  byId(id: number): Memslot | null {
    return this.slots.find((s) => s.id === id) ?? null;
  }
}
