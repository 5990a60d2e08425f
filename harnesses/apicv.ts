/**
 * Harness `apicv` (seed 001): vCPUs fault on the APIC-access page and enter
 * the guest while an actor inhibits and un-inhibits APICv; the primary MM
 * unmaps guest RAM. Config: APICv initially active, or inhibited with every
 * vCPU already inactive.
 */
import { APIC_DEFAULT_GFN } from '../src/model/memslots';
import { KvmHarness, accessOp, apicvOp, unmapOp } from './kvm-harness';
import { makeFuzz } from './jsfuzz-entry';

const GFNS = [APIC_DEFAULT_GFN, 1];

export const harness = new KvmHarness({
  name: 'apicv',
  description: 'APIC-access page faults and guest entries racing APICv inhibit toggles (seed 001)',
  slots: [
    { name: 'vcpu0', role: { kind: 'vcpu', vcpu: 0 }, maxOps: 3, ops: [accessOp(GFNS)] },
    { name: 'vcpu1', role: { kind: 'vcpu', vcpu: 1 }, maxOps: 3, ops: [accessOp(GFNS)] },
    { name: 'ioctl', role: { kind: 'ioctl' }, maxOps: 2, ops: [apicvOp] },
    { name: 'mm', role: { kind: 'mm' }, maxOps: 1, ops: [unmapOp([0x1001])] },
  ],
  states: [
    { name: 'APICv active', params: { vcpus: 2, apicAccessSlot: true } },
    {
      name: 'APICv inhibited (bit 0)',
      params: { vcpus: 2, apicAccessSlot: true, apicvInhibitReasons: 1 },
      setup: (kvm) => kvm.vcpus.forEach((v) => (v.apicv_active = false)),
    },
  ],
});

export const fuzz = makeFuzz(harness);
