/**
 * Harness `memslot-rmaps` (seed 004): the VMM creates, moves and deletes
 * memslots while a vCPU activates the shadow MMU (its first nested root
 * allocates rmaps) and shadow faults, notifier unmaps and zaps use rmaps.
 */
import { buildEpt12 } from '../src/model/vm';
import { KvmHarness, accessOp, l2AccessOp, memslotOp, unmapOp } from './kvm-harness';
import { makeFuzz } from './jsfuzz-entry';

const LAYOUTS = [
  { id: 1, base_gfn: 16, npages: 8, userspace_addr: 0x9000 },
  { id: 1, base_gfn: 24, npages: 8, userspace_addr: 0x9000 },
  { id: 2, base_gfn: 32, npages: 8, userspace_addr: 0xa000 },
];

export const harness = new KvmHarness({
  name: 'memslot-rmaps',
  description: 'lazy rmap allocation racing memslot create/move/delete (seed 004)',
  slots: [
    { name: 'vcpu0', role: { kind: 'vcpu', vcpu: 0 }, maxOps: 3, ops: [l2AccessOp([0, 512]), accessOp([1, 20])] },
    { name: 'vcpu1', role: { kind: 'vcpu', vcpu: 1 }, maxOps: 2, ops: [l2AccessOp([0, 512]), accessOp([1, 20])] },
    { name: 'ioctl', role: { kind: 'ioctl' }, maxOps: 2, ops: [memslotOp(LAYOUTS)] },
    { name: 'mm', role: { kind: 'mm' }, maxOps: 1, ops: [unmapOp([0x100c, 0x9004])] },
  ],
  states: [
    {
      name: 'EPT12 maps L2 0 → L1 12 (slot 0), L2 512 → L1 20 (slot 1 when created)',
      params: { vcpus: 2, slots: [{ id: 0, base_gfn: 0, npages: 16, userspace_addr: 0x1000 }, { id: 2, base_gfn: 32, npages: 8, userspace_addr: 0xa000 }] },
      setup: (kvm) => buildEpt12(kvm, [
        { l2gfn: 0, l1gfn: 12, l2Table: 9, l1Table: 10 },
        { l2gfn: 512, l1gfn: 20, l2Table: 9, l1Table: 11 },
      ]),
    },
  ],
});

export const fuzz = makeFuzz(harness);
