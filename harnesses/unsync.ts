/**
 * Harness `unsync` (seed 000): vCPUs running L1 write the EPT12 page tables
 * that indirect shadow pages shadow (TDP MMU faults under the read lock that
 * mark them unsync), and a vCPU running L2 syncs (INVEPT, then L2 entry).
 * Set-up: vcpu2 builds the nested shadow pages R → P → S1, S2 by L2 faults;
 * vcpu0 and vcpu1 load their TDP roots. Config: whether S1 and S2 sit in the
 * same word of P's unsync bitmap (Case 2) or in different words (Case 1).
 */
import { buildEpt12 } from '../src/model/vm';
import { KvmHarness, accessOp, eptWriteOp, inveptOp, l2AccessOp } from './kvm-harness';
import { makeFuzz } from './jsfuzz-entry';

const G1 = 10;
const G2 = 11;

function ops(l2b: number) {
  return [eptWriteOp([G1, G2], [7, 8], [14, 15]), accessOp([1, 2, G1, G2]), inveptOp, l2AccessOp([0, l2b])];
}

const VCPU_OPS = ops(512);

export const harness = new KvmHarness({
  name: 'unsync',
  description: 'L1 vCPUs unsync indirect shadow pages from TDP MMU faults; an L2 vCPU syncs (seed 000)',
  slots: [
    { name: 'vcpu0', role: { kind: 'vcpu', vcpu: 0 }, maxOps: 3, ops: VCPU_OPS },
    { name: 'vcpu1', role: { kind: 'vcpu', vcpu: 1 }, maxOps: 3, ops: VCPU_OPS },
    { name: 'vcpu2', role: { kind: 'vcpu', vcpu: 2 }, maxOps: 3, ops: VCPU_OPS },
  ],
  states: [512, 64 * 512].map((l2b) => ({
    name: l2b === 512 ? 'S1, S2 in the same bitmap word of P' : 'S1, S2 in different bitmap words of P',
    params: { vcpus: 3 },
    setup: (kvm) => buildEpt12(kvm, [
      { l2gfn: 0, l1gfn: 12, l2Table: 9, l1Table: G1 },
      { l2gfn: l2b, l1gfn: 13, l2Table: 9, l1Table: G2 },
    ]),
    preludes: {
      vcpu2: [{ kind: 'l2-access', l2gfn: 0 }, { kind: 'l2-access', l2gfn: l2b }],
      vcpu0: [{ kind: 'access', gfn: 1, write: false }],
      vcpu1: [{ kind: 'access', gfn: 2, write: false }],
    },
  })),
});

export const fuzz = makeFuzz(harness);
