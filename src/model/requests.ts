/**
 * vCPU requests and kicks (2.5): `kvm_make_request`, and
 * `kvm_make_all_cpus_request`, which sets the bit on every vCPU, moves those
 * in guest mode to EXITING_GUEST_MODE, kicks them, and for requests with
 * KVM_REQUEST_WAIT waits until every kicked vCPU has acknowledged (left guest
 * mode). It never waits for a vCPU that is outside guest mode.
 */
import type { SimThread, Step } from '../runtime';
import { callLabel, label } from '../runtime/label-memo';
import type { Kvm } from './kvm';
import { EXITING_GUEST_MODE, IN_GUEST_MODE, OUTSIDE_GUEST_MODE, type Vcpu, WAIT_REQUESTS, requestNames } from './vcpu';

/** `kvm_make_request(req, vcpu)`: an atomic set_bit (one step). */
export function* kvm_make_request(t: SimThread, vcpu: Vcpu, req: number, fn: string): Step {
  yield callLabel(fn, 'kvm_make_request', req, requestNames);
  t.store(vcpu, 'requests', vcpu.requests | req);
}

/** `kvm_make_all_cpus_request(kvm, req)`. */
export function* kvm_make_all_cpus_request(t: SimThread, kvm: Kvm, req: number, fn: string): Step {
  const wait = (req & WAIT_REQUESTS) !== 0;
  const kicked: { vcpu: Vcpu; exits: number }[] = [];
  for (const vcpu of kvm.vcpus) {
    yield callLabel(fn, 'kvm_make_request', req, requestNames);
    t.store(vcpu, 'requests', vcpu.requests | req);
    // kvm_request_needs_ipi: kvm_vcpu_exiting_guest_mode = cmpxchg(mode, IN_GUEST_MODE, EXITING_GUEST_MODE)
    yield label(fn, 'kvm_vcpu_exiting_guest_mode(vcpu.mode)');
    const mode = t.cmpxchg(vcpu, 'mode', IN_GUEST_MODE, EXITING_GUEST_MODE);
    const needs = wait ? mode !== OUTSIDE_GUEST_MODE : mode === IN_GUEST_MODE;
    if (needs) kicked.push({ vcpu, exits: vcpu.exits });
  }
  if (!wait) return;
  for (const k of kicked) {
    yield {
      label: `${fn}:smp_call_function_many(wait, ${k.vcpu.name})`,
      waitsFor: `${k.vcpu.name} to acknowledge the kick`,
      ready: () => k.vcpu.mode === OUTSIDE_GUEST_MODE || k.vcpu.exits > k.exits,
    };
  }
}
