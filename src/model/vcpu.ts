import { type Execution, KObject } from '../runtime';
import type { Sp } from './mmu-page';

export const OUTSIDE_GUEST_MODE = 0;
export const IN_GUEST_MODE = 1;
export const EXITING_GUEST_MODE = 2;
export const READING_SHADOW_PAGE_TABLES = 3;

export const MODE_NAMES = ['OUTSIDE_GUEST_MODE', 'IN_GUEST_MODE', 'EXITING_GUEST_MODE', 'READING_SHADOW_PAGE_TABLES'];

/** Request bits (`KVM_REQ_*`), in the order vcpu_enter_guest services them. */
export const KVM_REQ_MMU_RELOAD = 1 << 0;
export const KVM_REQ_MMU_SYNC = 1 << 1;
export const KVM_REQ_TLB_FLUSH = 1 << 2;
export const KVM_REQ_APICV_UPDATE = 1 << 3;
export const KVM_REQ_EVENT = 1 << 4;

/** Requests that make the requester wait for the kick to be acknowledged (KVM_REQUEST_WAIT). */
export const WAIT_REQUESTS = KVM_REQ_MMU_RELOAD | KVM_REQ_TLB_FLUSH | KVM_REQ_APICV_UPDATE;

export function requestNames(bits: number): string {
  const names = ['MMU_RELOAD', 'MMU_SYNC', 'TLB_FLUSH', 'APICV_UPDATE', 'EVENT'];
  return names.filter((_, i) => (bits & (1 << i)) !== 0).join('|') || 'none';
}

/** `struct kvm_vcpu` and the parts of `vcpu->arch` the model needs. */
export class Vcpu extends KObject {
  /** mode — written by the vCPU; requesters cmpxchg IN_GUEST_MODE → EXITING_GUEST_MODE. */
  mode = OUTSIDE_GUEST_MODE;
  /** requests — set by anyone (atomic set_bit), tested and cleared by the vCPU. */
  requests = 0;
  /** arch.root_mmu.root_hpa — owned by the vCPU; holds one tdp_mmu_root_count reference on a TDP root. */
  root_hpa: Sp | null = null;
  /** arch.guest_mmu.root_hpa — the nested (EPT12 shadow) root; owned by the vCPU; one root_count. */
  guest_root_hpa: Sp | null = null;
  /** is_guest_mode(vcpu): running L2 — owned by the vCPU. */
  guest_mode = false;
  /** kvm_vcpu_apicv_active(vcpu) — written only by the vCPU, under apicv_update_lock (read side). */
  apicv_active = true;
  /** arch.mmio_gva / mmio_gfn / mmio_access / mmio_gen — the per-vCPU MMIO cache, owned by the vCPU. */
  mmio_gfn = -1;
  mmio_access = 0;
  mmio_gen = 0n;
  /** Model scaffolding: generation of the memslots that decided "no slot" for the cached gfn (tag provenance). */
  mmio_decided_gen = 0n;
  /** Model scaffolding: step at which the MMIO cache was filled. */
  mmio_tag_step = -1;
  /** srcu_idx — the vCPU's SRCU read token while outside guest mode. */
  srcu_idx = 0;
  /** Model scaffolding: guest page-table versions at this vCPU's last INVEPT (the guest's TLB flush), by gfn. */
  flush_versions: Map<number, number> | null = null;
  /** Model scaffolding: times the vCPU has left guest mode (kick acknowledgements). */
  exits = 0;

  /** The address space the vCPU runs in (1 = SMM); part of the wanted root role. */
  as_id = 0;

  constructor(ex: Execution, readonly vcpu_id: number) {
    super(ex, 'kvm_vcpu', `vcpu${vcpu_id}`);
  }
}
