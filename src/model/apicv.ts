/**
 * APICv inhibits (1.2.L, 1.1.H; seed 001): the VM-wide inhibit toggle that
 * kicks every vCPU with KVM_REQ_APICV_UPDATE and zaps the APIC-access page's
 * SPTEs, and the vCPU side that adopts the new state.
 */
import { call, type SimThread, type Step } from '../runtime';
import type { Kvm } from './kvm';
import { APIC_DEFAULT_GFN } from './memslots';
import { kvm_zap_gfn_range } from './mmu-notifier';
import { kvm_apicv_activated } from './page-fault';
import { kvm_make_all_cpus_request, kvm_make_request } from './requests';
import { KVM_REQ_APICV_UPDATE, KVM_REQ_EVENT, type Vcpu } from './vcpu';

/**
 * `kvm_request_apicv_update(kvm, activate, bit)` under apicv_update_lock
 * (writer): when "activated-ness" changes, request KVM_REQ_APICV_UPDATE on
 * every vCPU (kick and wait for those in guest mode), then store the new
 * reasons, then (when inhibiting) zap the APIC-access gfn.
 */
export function* kvm_request_apicv_update(t: SimThread, kvm: Kvm, activate: boolean, bit: number): Step {
  yield* kvm.apicv_update_lock.writeLock(t, 'kvm_request_apicv_update');
  yield 'kvm_request_apicv_update:kvm->arch.apicv_inhibit_reasons.load';
  const old = t.load(kvm, 'apicv_inhibit_reasons');
  const next = activate ? old & ~(1 << bit) : old | (1 << bit);
  if ((old === 0) === (next === 0)) {
    yield 'kvm_request_apicv_update:kvm->arch.apicv_inhibit_reasons.store';
    t.store(kvm, 'apicv_inhibit_reasons', next);
    yield* kvm.apicv_update_lock.writeUnlock(t, 'kvm_request_apicv_update');
    return;
  }
  yield* kvm_make_all_cpus_request(t, kvm, KVM_REQ_APICV_UPDATE, 'kvm_request_apicv_update');
  yield 'kvm_request_apicv_update:kvm->arch.apicv_inhibit_reasons.store';
  t.store(kvm, 'apicv_inhibit_reasons', next);
  if (next !== 0) yield* call(kvm_zap_gfn_range(t, kvm, APIC_DEFAULT_GFN, APIC_DEFAULT_GFN + 1));
  yield* kvm.apicv_update_lock.writeUnlock(t, 'kvm_request_apicv_update');
}

/** `kvm_vcpu_update_apicv(vcpu)` (servicing KVM_REQ_APICV_UPDATE) under apicv_update_lock (reader). */
export function* kvm_vcpu_update_apicv(t: SimThread, kvm: Kvm, vcpu: Vcpu): Step {
  yield* kvm.apicv_update_lock.readLock(t, 'kvm_vcpu_update_apicv');
  const activate = yield* kvm_apicv_activated(t, kvm, 'kvm_vcpu_update_apicv');
  yield 'kvm_vcpu_update_apicv:vcpu->arch.apicv_active.load';
  if (t.load(vcpu, 'apicv_active') !== activate) {
    yield 'kvm_vcpu_update_apicv:vcpu->arch.apicv_active.store';
    t.store(vcpu, 'apicv_active', activate);
    if (!activate) yield* kvm_make_request(t, vcpu, KVM_REQ_EVENT, 'kvm_vcpu_update_apicv');
  }
  yield* kvm.apicv_update_lock.readUnlock(t, 'kvm_vcpu_update_apicv');
}
