import { Execution, KObject, Lock, Rcu, RwLock, Srcu } from '../runtime';
import { ListNode } from './list';
import { APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, APIC_DEFAULT_GFN, Memslot, Memslots, Rmap } from './memslots';
import type { Sp } from './mmu-page';
import { Page } from './primary-mm';
import type { ModelConfig } from './switches';
import { Vcpu } from './vcpu';

/** A memslot given at VM creation. */
export interface SlotSpec {
  id: number;
  base_gfn: number;
  npages: number;
  /** hva page number of the slot's first page. */
  userspace_addr: number;
}

/** VM parameters; every counter's initial value is configurable (spec 2.4). */
export interface KvmParams {
  vcpus: number;
  slots: SlotSpec[];
  /** Create the APIC-access private memslot at APIC_DEFAULT_GFN. */
  apicAccessSlot: boolean;
  /** Initial kvm->mmu_notifier_seq. */
  mmuNotifierSeq: bigint;
  /** Initial memslots generation (the 2014 kernel started ~150 below the wrap). */
  generation: bigint;
  /** Rmaps allocated up front (shadow_root_allocated already true). */
  shadowRootAllocated: boolean;
  /** Initial apicv_inhibit_reasons (0 = APICv active). */
  apicvInhibitReasons: number;
  /** gfn of L1's EPT12 root table. */
  ept12RootGfn: number;
  /** vCPUs that run in SMM (address space 1); the model shares one memslots array between both spaces. */
  smmVcpus: number[];
}

export const DEFAULT_KVM_PARAMS: KvmParams = {
  vcpus: 2,
  slots: [{ id: 0, base_gfn: 0, npages: 16, userspace_addr: 0x1000 }],
  apicAccessSlot: false,
  mmuNotifierSeq: 0n,
  generation: 0n,
  shadowRootAllocated: false,
  apicvInhibitReasons: 0,
  ept12RootGfn: 8,
  smmVcpus: [],
};

/** L1's nested-EPT page table held in guest memory at some gfn (data the guest writes). */
export class GuestPt extends KObject {
  /** entries: index -> gfn of the next-level table, or (level 1) the L1 gfn of the data page. Guest-written. */
  readonly entries = new Map<number, number>();
  /** version — bumped by every guest write to this table page. */
  version = 0;
  constructor(ex: Execution, readonly gfn: number, readonly level: number) {
    super(ex, 'guest_pt', `ept12@${gfn}`);
  }
}

/**
 * `struct kvm` with `kvm->arch`: locks, published memslots, notifier state,
 * TDP MMU root and page lists, shadow MMU hash, APICv state. One address
 * space. Field comments name the lock that guards each field.
 */
export class Kvm extends KObject {
  readonly ex: Execution;
  readonly config: ModelConfig;
  readonly params: KvmParams;

  // ---- locks ----------------------------------------------------------
  /** kvm->mmu_lock (rwlock_t): read for TDP MMU faults, write for shadow faults, zaps, root alloc/free. */
  readonly mmu_lock: RwLock;
  /** kvm->slots_lock (mutex): memslot ioctls, fast zap callers. */
  readonly slots_lock: Lock;
  /** kvm->slots_arch_lock (mutex): arch fields of memslots (seed 004, switch on). */
  readonly slots_arch_lock: Lock;
  /** kvm->arch.memslot_assignment_lock (mutex): seed 004 v1 design (switch off). */
  readonly memslot_assignment_lock: Lock;
  /** kvm->srcu: protects kvm->memslots[]. */
  readonly srcu: Srcu;
  /** kvm->arch.tdp_mmu_pages_lock (spinlock): list writes under the read lock. */
  readonly tdp_mmu_pages_lock: Lock;
  /** kvm->arch.mmu_unsync_pages_lock (spinlock): marking SPs unsync (seed 000, switch on). */
  readonly mmu_unsync_pages_lock: Lock;
  /** kvm->mn_invalidate_lock (spinlock): mn_active_invalidate_count. */
  readonly mn_invalidate_lock: Lock;
  /** kvm->arch.apicv_update_lock (rw_semaphore): writer = inhibit toggles, reader = vCPUs applying them. */
  readonly apicv_update_lock: RwLock;
  /** RCU (global). */
  readonly rcu: Rcu;

  // ---- state ----------------------------------------------------------
  /** kvm->memslots[0] — rcu_assign_pointer by writers holding slots_lock; srcu_dereference by readers. */
  memslots: Memslots;
  /** mmu_notifier_seq — unsigned long; incremented under mmu_lock write; read locklessly. */
  mmu_notifier_seq: bigint;
  /** mmu_notifier_count — long; mmu_lock held for write. */
  mmu_notifier_count = 0;
  /** mmu_notifier_range_start/end — unsigned long (hva); mmu_lock held for write. */
  mmu_notifier_range_start = 0;
  mmu_notifier_range_end = 0;
  /** mn_active_invalidate_count — mn_invalidate_lock. */
  mn_active_invalidate_count = 0;
  /** arch.mmu_valid_gen — u8 0/1; mmu_lock held for write. */
  mmu_valid_gen = 0;
  /** arch.tdp_mmu_roots — RCU list; writes: mmu_lock write, or read + tdp_mmu_pages_lock; reads: mmu_lock + RCU. */
  readonly tdp_mmu_roots: ListNode;
  /** arch.tdp_mmu_pages — non-root TDP SPs; tdp_mmu_pages_lock when mmu_lock is held for read. */
  readonly tdp_mmu_pages: ListNode;
  /** arch.mmu_page_hash / active_mmu_pages — shadow SPs; mmu_lock held for write (read-only walks under read). */
  readonly mmu_page_hash = new Map<number, Sp[]>();
  readonly active_mmu_pages: Sp[] = [];
  /** arch.apicv_inhibit_reasons — written under apicv_update_lock (write); read locklessly. */
  apicv_inhibit_reasons: number;
  /** stat.mmu_unsync — same rule as unsync marking. */
  stat_mmu_unsync = 0;
  /** arch.shadow_root_allocated — written under slots_arch_lock with store-release; read with load-acquire. */
  shadow_root_allocated: boolean;
  /** v1 design (seed 004 off): arch.alloc_memslot_rmaps — memslot_assignment_lock. */
  alloc_memslot_rmaps = false;
  /** v1 design: arch.shadow_mmu_active — plain. */
  shadow_mmu_active = false;
  /** Write-tracked gfns (KVM_PAGE_TRACK_WRITE counts) — mmu_lock held for write. */
  readonly write_tracked = new Map<number, number>();
  readonly vcpus: Vcpu[] = [];

  // ---- model scaffolding (not kernel state) ----------------------------
  /** Primary MM: hva page -> current page. Changed by the MM thread; read by faults (get_user_pages). */
  readonly mm = new Map<number, Page>();
  /** Frame table: pfn -> the page or page table at that frame. */
  readonly frames = new Map<number, Page | Sp>();
  private nextPfn = 0x100;
  /** gfn of L1's EPT12 root table (its EPTP), for nested faults. */
  ept12_root_gfn: number;
  /** Every rmap array ever allocated (for the lost-entries / leak oracles). */
  readonly allRmaps: Rmap[] = [];
  /** Guest memory holding L1's nested-EPT tables, by gfn. */
  readonly guest_pts = new Map<number, GuestPt>();
  /** MMIO SPTE tag provenance (seed 002 oracle 2): "spOid:idx" -> generations. */
  readonly mmioProvenance = new Map<string, { tagged: string; decided: string; step: number }>();
  /** The APIC-access page (backing the private slot). */
  apic_access_page: Page | null = null;
  /** Count of roots ever created, for names. */
  rootSeq = 0;
  spSeq = 0;
  slotsSeq = 0;

  constructor(ex: Execution, config: ModelConfig, params: Partial<KvmParams> = {}) {
    super(ex, 'kvm', 'kvm');
    this.ex = ex;
    this.config = config;
    this.params = { ...DEFAULT_KVM_PARAMS, ...params };
    this.mmu_lock = new RwLock(ex, 'mmu_lock', 'rwlock');
    this.slots_lock = new Lock(ex, 'slots_lock', 'mutex');
    this.slots_arch_lock = new Lock(ex, 'slots_arch_lock', 'mutex');
    this.memslot_assignment_lock = new Lock(ex, 'memslot_assignment_lock', 'mutex');
    this.srcu = new Srcu(ex, 'kvm->srcu');
    this.tdp_mmu_pages_lock = new Lock(ex, 'tdp_mmu_pages_lock', 'spinlock', this.mmu_lock);
    this.mmu_unsync_pages_lock = new Lock(ex, 'mmu_unsync_pages_lock', 'spinlock', this.mmu_lock);
    this.mn_invalidate_lock = new Lock(ex, 'mn_invalidate_lock', 'spinlock');
    this.apicv_update_lock = new RwLock(ex, 'apicv_update_lock', 'rwsem');
    this.rcu = new Rcu(ex);
    this.tdp_mmu_roots = ListNode.head(this, 'tdp_mmu_roots');
    this.tdp_mmu_pages = ListNode.head(this, 'tdp_mmu_pages');
    this.mmu_notifier_seq = this.params.mmuNotifierSeq;
    this.apicv_inhibit_reasons = this.params.apicvInhibitReasons;
    this.shadow_root_allocated = this.params.shadowRootAllocated;
    this.ept12_root_gfn = this.params.ept12RootGfn;
    // Write tracking is allocated up front in the v1 design (slots-arch-lock off), lazily otherwise.
    const track = this.shadow_root_allocated || !config.switches['slots-arch-lock'];
    const slots: Memslot[] = this.params.slots.map(
      (s) => new Memslot(s.id, s.base_gfn, s.npages, s.userspace_addr, 0, { rmap: this.shadow_root_allocated ? this.newRmap(s.id) : null, write_track: track }),
    );
    if (this.params.apicAccessSlot) {
      const hva = 0xfee00000;
      this.apic_access_page = this.newPage(hva);
      this.mm.set(hva, this.apic_access_page);
      slots.push(new Memslot(APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, APIC_DEFAULT_GFN, 1, hva, 0, { rmap: null, write_track: false }));
    }
    this.memslots = new Memslots(ex, slots, this.params.generation, `memslots#${this.slotsSeq++}`);
    this.memslots.install_done = true;
    for (let i = 0; i < this.params.vcpus; i++) {
      const v = new Vcpu(ex, i);
      if (this.params.smmVcpus.includes(i)) v.as_id = 1;
      this.vcpus.push(v);
    }
  }

  /** A new rmap array for slot `id` (kvzalloc). */
  newRmap(id: number): Rmap {
    const r = new Rmap(this.ex, `rmap(slot ${id})#${this.allRmaps.length + 1}`);
    this.allRmaps.push(r);
    return r;
  }

  /** Allocates a frame number (no step: allocator-local). */
  allocPfn(): number {
    return this.nextPfn++;
  }

  /** A new host page at `hva` (the primary MM's page allocator). */
  newPage(hva: number): Page {
    const p = new Page(this.ex, this.allocPfn(), hva, `page@hva${hva.toString(16)}`);
    this.frames.set(p.pfn, p);
    return p;
  }

  /** The object at frame `pfn`. */
  frame(pfn: number): Page | Sp | undefined {
    return this.frames.get(pfn);
  }

  /** KVM_ADDRESS_SPACE_NUM in use: 2 when some vCPU runs in SMM. */
  get addressSpaces(): number {
    return this.params.smmVcpus.length > 0 ? 2 : 1;
  }

  /** Is TDP MMU the MMU of this VM? (always, in this model) */
  get tdpMmuEnabled(): boolean {
    return true;
  }

  variant(name: string): boolean {
    return this.config.variants.has(name);
  }
}
