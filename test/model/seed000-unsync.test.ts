/**
 * Seed 000 (ce25681d59, `tdp-unsync-lock`): two vCPUs running L1 write their
 * EPT12 page tables G1 and G2; each write takes a TDP MMU fault under
 * mmu_lock held for read that marks the indirect shadow page S1 / S2 unsync
 * and propagates unsync_children into their shared parent P. A third vCPU
 * then syncs (L1's INVEPT and the next L2 entry). kvm-mmu-model.md 3.1 (c).
 */
import test from 'ava';
import { Sp } from '../../src/model/mmu-page';
import { buildEpt12 } from '../../src/model/vm';
import type { ScriptStep } from '../../src/strategies';
import { type Scenario, crashes, explore, runScript } from './helpers';

const G1 = 10;
const G2 = 11;

/** L2 gfns whose entries in P (the level-2 table) are in different words (Case 1) or the same word (Case 2). */
function scenario(l2b: number, off: boolean, variants: string[] = []): Scenario {
  return {
    off: off ? ['tdp-unsync-lock'] : [],
    variants,
    program: {
      vcpus: [
        // A first read loads the TDP root and its upper-level tables, as a running L1 has them.
        [{ kind: 'access', gfn: 1, write: false }, { kind: 'ept-write', table: G1, idx: 7, value: 14 }],
        [{ kind: 'access', gfn: 2, write: false }, { kind: 'ept-write', table: G2, idx: 7, value: 15 }],
        [{ kind: 'l2-access', l2gfn: 0 }, { kind: 'l2-access', l2gfn: l2b }, { kind: 'invept' }, { kind: 'l2-access', l2gfn: 0 }],
      ],
    },
    setup: (kvm) => buildEpt12(kvm, [
      { l2gfn: 0, l1gfn: 12, l2Table: 9, l1Table: G1 },
      { l2gfn: l2b, l1gfn: 13, l2Table: 9, l1Table: G2 },
    ]),
  };
}

const CASE1_L2B = 64 * 512; // P index 64: another bitmap word than index 0
const CASE2_L2B = 1 * 512; // P index 1: the same word as index 0

/** The interleaving of the seed's tables: A and B each stop before M4, then before M5, of mark_unsync on P. */
const PRELUDE: ScriptStep[] = [
  { thread: 'vcpu0', until: 'guest:access', nth: 2 }, // root loaded, gfn 1 mapped: about to write G1
  { thread: 'vcpu1', until: 'guest:access', nth: 2 },
  { thread: 'vcpu2', until: 'handle_invept:guest INVEPT' }, // builds R, P, S1, S2 by nested faults, stops before L1's INVEPT
];

const RACE: ScriptStep[] = [
  ...PRELUDE,
  { thread: 'vcpu0', until: 'mark_unsync:P.unsync_children.load' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_children.load' },
  { thread: 'vcpu0', until: 'mark_unsync:P.unsync_children.store' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_children.store' },
  { thread: 'vcpu0', until: null },
  { thread: 'vcpu1', until: null },
  { thread: 'vcpu2', until: null },
];

/** Case 2: A and B interleave the bitmap word's load and store (B's bit is overwritten by A's store). */
const RACE2: ScriptStep[] = [
  ...PRELUDE,
  { thread: 'vcpu0', until: 'mark_unsync:P.unsync_child_bitmap.store' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_child_bitmap.store' },
  { thread: 'vcpu1', until: 'mark_unsync:P.unsync_children.load' },
  { thread: 'vcpu0', until: null },
  { thread: 'vcpu1', until: null },
  { thread: 'vcpu2', until: null },
];

test('Case 1, switch off: lost unsync_children increment → underflow WARN in clear_unsync_child_bit', (t) => {
  const r = runScript(scenario(CASE1_L2B, true), RACE);
  t.is(r.sig, 'WARN clear_unsync_child_bit: unsync_children underflow');
  t.regex(r.outcome.failure!.message, /went from 0 to 0xffffffff/);
  t.is(r.outcome.failure!.thread, 'vcpu2');
});

test('Case 1, switch on: the same program and script intent runs clean', (t) => {
  const r = runScript(scenario(CASE1_L2B, false), RACE, false);
  t.is(r.sig, 'clean');
  const S = [...r.kvm.frames.values()].filter((f): f is Sp => f instanceof Sp && !f.direct && f.level === 1);
  t.true(S.length >= 2);
  t.is(r.kvm.stat_mmu_unsync, S.filter((s) => s.unsync).length);
});

test('Case 1, switch off: before the sync, P has count 1 but two bits (the lost increment)', (t) => {
  const s = scenario(CASE1_L2B, true);
  s.program.vcpus[2] = s.program.vcpus[2]!.slice(0, 3); // no L2 entry after INVEPT: no sync
  const r = runScript(s, RACE.slice(0, RACE.length - 1), true);
  // The quiescence oracle sees the count/bitmap mismatch.
  t.is(r.sig, 'INVARIANT unsync-count: unsync_children differs from its bitmap');
  t.regex(r.outcome.failure!.message, /unsync_children = 1 but its bitmap has 2 bits/);
});

test('Case 2, switch off: lost bitmap bit → S2 never synced (missed sync)', (t) => {
  const r = runScript(scenario(CASE2_L2B, true), RACE2);
  t.is(r.sig, 'INVARIANT missed-sync: guest page-table write not synced after its TLB flush');
  t.regex(r.outcome.failure!.message, /S\d+@11/);
});

test('Case 2, switch on: clean', (t) => {
  const r = runScript(scenario(CASE2_L2B, false), RACE2, false);
  t.is(r.sig, 'clean');
});

test('exploration: off side finds an unsync failure, on side finds none (both cases)', (t) => {
  for (const l2b of [CASE1_L2B, CASE2_L2B]) {
    const off = crashes(explore(scenario(l2b, true), 300));
    const on = crashes(explore(scenario(l2b, false), 300));
    t.true(off.some((s) => /unsync|missed-sync/.test(s)), `off side found: ${off.join('; ')}`);
    t.deepEqual(on, [], `on side found: ${on.join('; ')}`);
  }
});

test('claim variant tdp-mmu-pages-lock (piggyback the existing lock) is as good as the new lock', (t) => {
  t.is(runScript(scenario(CASE1_L2B, false, ['tdp-unsync-lock:tdp-mmu-pages-lock']), RACE, false).sig, 'clean');
  t.deepEqual(crashes(explore(scenario(CASE1_L2B, false, ['tdp-unsync-lock:tdp-mmu-pages-lock']), 150)), []);
});

test('claim variant atomics (alternative #2) closes Case 1 and Case 2', (t) => {
  t.is(runScript(scenario(CASE1_L2B, true, ['tdp-unsync-lock:atomics']), RACE, false).sig, 'clean');
  t.deepEqual(crashes(explore(scenario(CASE2_L2B, true, ['tdp-unsync-lock:atomics']), 150)), []);
});

test('claim variant no-unsync (alternative #1): L1 writes to its EPT tables are emulated, nothing goes unsync', (t) => {
  const r = runScript(scenario(CASE1_L2B, true, ['tdp-unsync-lock:no-unsync']), PRELUDE, false, true);
  t.is(r.sig, 'clean');
  t.is(r.kvm.stat_mmu_unsync, 0);
  t.true(r.outcome.trace!.some((e) => e.label === 'x86_emulate_instruction:emulate'));
});
