/**
 * Harness `tdp-roots` (seed 003): vCPUs in two address spaces load roots and
 * fault; the VMM runs fast zaps (set_nx_huge_pages, memslot deletion); the
 * primary MM unmaps and frees pages; RCU frees page tables. Set-up: vcpu0
 * maps gfns 1-2 under its root, vcpu1 (SMM) gets a second root.
 */
import { KvmHarness, accessOp, memslotOp, unmapOp, zapAllFastOp } from './kvm-harness';
import { makeFuzz } from './jsfuzz-entry';

const VCPU_OPS = [accessOp([1, 2, 3])];

export const harness = new KvmHarness({
  name: 'tdp-roots',
  description: 'TDP MMU roots: fast zaps, MMU-notifier invalidations, root reloads and RCU frees (seed 003)',
  slots: [
    { name: 'vcpu0', role: { kind: 'vcpu', vcpu: 0 }, maxOps: 2, ops: VCPU_OPS },
    { name: 'vcpu1', role: { kind: 'vcpu', vcpu: 1 }, maxOps: 2, ops: VCPU_OPS },
    { name: 'mm', role: { kind: 'mm' }, maxOps: 2, ops: [unmapOp([0x1001, 0x1002])] },
    { name: 'ioctl', role: { kind: 'ioctl' }, maxOps: 2, ops: [zapAllFastOp, memslotOp([{ id: 1, base_gfn: 32, npages: 8, userspace_addr: 0x9000 }])] },
  ],
  states: [
    {
      name: 'two roots (address spaces 0 and 1)',
      params: { vcpus: 2, smmVcpus: [1], slots: [{ id: 0, base_gfn: 0, npages: 16, userspace_addr: 0x1000 }, { id: 1, base_gfn: 32, npages: 8, userspace_addr: 0x9000 }] },
      preludes: {
        vcpu1: [{ kind: 'access', gfn: 3, write: false }],
        vcpu0: [{ kind: 'access', gfn: 1, write: true }, { kind: 'access', gfn: 2, write: true }],
      },
    },
  ],
});

export const fuzz = makeFuzz(harness);
