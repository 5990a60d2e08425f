/**
 * Harness `mmu`: every mechanism in one VM — nested shadow pages, MMIO and
 * memslot changes, APICv toggles, fast zaps, MMU-notifier unmaps, SMM roots.
 */
import type { Kvm } from '../src/model/kvm';
import { APIC_DEFAULT_GFN } from '../src/model/memslots';
import { buildEpt12 } from '../src/model/vm';
import {
  KvmHarness, accessOp, apicvOp, eptWriteOp, inveptOp, l2AccessOp, memslotOp, unmapOp, zapAllFastOp,
} from './kvm-harness';
import { makeFuzz } from './jsfuzz-entry';
import { MMIO_LAYOUTS } from './mmio-gen';

const VCPU_OPS = [
  accessOp([1, 2, 20, 26, APIC_DEFAULT_GFN, 10, 11]),
  eptWriteOp([10, 11], [7, 8], [14, 15]),
  inveptOp,
  l2AccessOp([0, 512]),
];

/** The VM both initial states start from: three vCPUs (vCPU 2 in SMM), the APIC-access page, EPT12 tables for two L2 gfns. */
const PARAMS = { vcpus: 3, apicAccessSlot: true, smmVcpus: [2] };
const buildNestedTables = (kvm: Kvm): void => buildEpt12(kvm, [
  { l2gfn: 0, l1gfn: 12, l2Table: 9, l1Table: 10 },
  { l2gfn: 512, l1gfn: 13, l2Table: 9, l1Table: 11 },
]);

export const harness = new KvmHarness({
  name: 'mmu',
  description: 'all mechanisms in one VM',
  slots: [
    { name: 'vcpu0', role: { kind: 'vcpu', vcpu: 0 }, maxOps: 3, ops: VCPU_OPS },
    { name: 'vcpu1', role: { kind: 'vcpu', vcpu: 1 }, maxOps: 3, ops: VCPU_OPS },
    { name: 'vcpu2', role: { kind: 'vcpu', vcpu: 2 }, maxOps: 3, ops: VCPU_OPS },
    { name: 'ioctl', role: { kind: 'ioctl' }, maxOps: 2, ops: [memslotOp(MMIO_LAYOUTS), apicvOp, zapAllFastOp] },
    { name: 'mm', role: { kind: 'mm' }, maxOps: 1, ops: [unmapOp([0x1001, 0x1002, 0x9004])] },
  ],
  states: [
    {
      name: 'nested set-up (R → P → S1, S2), APIC-access page, SMM vCPU 2',
      params: PARAMS,
      setup: buildNestedTables,
      preludes: {
        vcpu0: [{ kind: 'l2-access', l2gfn: 0 }, { kind: 'l2-access', l2gfn: 512 }, { kind: 'access', gfn: 1, write: false }],
        vcpu1: [{ kind: 'access', gfn: 2, write: false }],
      },
    },
    {
      // No nested entry before the race: the shadow MMU is still inactive and
      // rmaps are not allocated, so the first l2-access allocates them while
      // memslot changes may run (seed 004's lazy rmaps).
      name: 'nested tables written but not yet entered (shadow MMU inactive, no rmaps), APIC-access page, SMM vCPU 2',
      params: PARAMS,
      setup: buildNestedTables,
      preludes: {
        vcpu1: [{ kind: 'access', gfn: 2, write: false }],
      },
    },
  ],
});

export const fuzz = makeFuzz(harness);
