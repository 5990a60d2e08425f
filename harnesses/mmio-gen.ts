/**
 * Harness `mmio-gen` (seed 002): vCPUs access gfns with and without
 * memslots (MMIO caching, MMIO SPTEs) while the VMM creates, deletes and
 * moves a memslot over them. Config: the initial generation (0, or just
 * below the wrap of the stored MMIO generation bits).
 */
import { KvmHarness, accessOp, memslotOp } from './kvm-harness';
import { makeFuzz } from './jsfuzz-entry';

/** Slot 1 created over gfns 16-23 (covering gfn 20), or moved to 24-31 (covering 26). */
export const MMIO_LAYOUTS = [
  { id: 1, base_gfn: 16, npages: 8, userspace_addr: 0x9000 },
  { id: 1, base_gfn: 24, npages: 8, userspace_addr: 0x9000 },
];

export const harness = new KvmHarness({
  name: 'mmio-gen',
  description: 'vCPUs cache MMIO for gfns without memslots while the VMM changes memslots (seed 002)',
  slots: [
    { name: 'vcpu0', role: { kind: 'vcpu', vcpu: 0 }, maxOps: 3, ops: [accessOp([20, 26, 1])] },
    { name: 'vcpu1', role: { kind: 'vcpu', vcpu: 1 }, maxOps: 3, ops: [accessOp([20, 26, 1])] },
    { name: 'ioctl', role: { kind: 'ioctl' }, maxOps: 2, ops: [memslotOp(MMIO_LAYOUTS)] },
  ],
  states: [
    { name: 'generation 0', params: { vcpus: 2, generation: 0n } },
    { name: 'generation near the MMIO wrap', params: { vcpus: 2, generation: 0x7fffcn } },
  ],
});

export const fuzz = makeFuzz(harness);
