/**
 * Seed 004 (`slots-arch-lock`): lazily allocated rmaps. The activator is a
 * vCPU allocating its first shadow root (nested L2 entry); the installer is
 * the VMM creating or deleting a memslot; the user is a shadow-MMU fault
 * adding rmap entries. kvm-mmu-model.md 3.5 (c).
 */
import test from 'ava';
import { signatureOf } from '../../src/runtime';
import { buildEpt12 } from '../../src/model/vm';
import type { ScriptStep } from '../../src/strategies';
import { type Scenario, crashes, explore, runScript } from './helpers';

/** vcpu0 enters L2 (first shadow root → rmap activation) and touches an L2 page backed by L1 gfn `l1gfn`. */
function scenario(off: boolean, variants: string[], l1gfn: number, change: 'CREATE' | 'DELETE' = 'CREATE'): Scenario {
  return {
    off: off ? ['slots-arch-lock'] : [],
    variants,
    params: { slots: [{ id: 0, base_gfn: 0, npages: 16, userspace_addr: 0x1000 }, ...(change === 'DELETE' ? [{ id: 1, base_gfn: 32, npages: 8, userspace_addr: 0x9000 }] : [])] },
    program: {
      vcpus: [[{ kind: 'l2-access', l2gfn: 0 }]],
      ioctl: change === 'CREATE'
        ? [{ kind: 'memslot', req: { change: 'CREATE', id: 1, base_gfn: 16, npages: 8, userspace_addr: 0x9000, flags: 0 } }]
        : [{ kind: 'memslot', req: { change: 'DELETE', id: 1, base_gfn: 32, npages: 8, userspace_addr: 0x9000, flags: 0 } }],
    },
    setup: (kvm) => buildEpt12(kvm, [{ l2gfn: 0, l1gfn, l2Table: 9, l1Table: 10 }]),
  };
}

/** Race 1 (Ben's 11 steps): I reads the flag and allocates nothing (1-4), A activates (5-9), I publishes (10), U uses the new slot (11). */
const RACE1: ScriptStep[] = [
  { thread: 'ioctl', until: 'install_new_memslots:mn_invalidate_lock.lock' },
  { thread: 'vcpu0', until: 'FNAME(walk_addr):gpte.load' },
  { thread: 'ioctl', until: 'install_new_memslots:synchronize_srcu_expedited(kvm->srcu)' },
  { thread: 'vcpu0', until: null },
  { thread: 'ioctl', until: null },
];

test('Race 1, switch off with v1-assign-outside-lock: the new slot is published without rmaps, then NULL rmap', (t) => {
  const s = scenario(true, ['slots-arch-lock:v1-assign-outside-lock'], 20);
  const r = runScript(s, RACE1, true, false, false);
  // Step 10: the publication oracle; step 11: the first rmap user under mmu_lock dereferences NULL.
  // (The copy was taken before A ran, so slot 0's copy lacks rmaps too, and the shadow fault's
  // write-protection of its guest table in slot 0 is the first to trip.)
  const sigs = r.outcome.warnings.map(signatureOf);
  t.is(sigs[0], 'INVARIANT rmap-publication: memslot published without rmaps after rmaps were enabled');
  t.is(r.outcome.failure!.kind, 'NULL');
  t.is(r.outcome.failure!.detail, 'NULL pointer dereference of slot->arch.rmap[0]');
  t.true(r.outcome.failure === r.outcome.warnings[1]);
});

test('Race 1, switch off (v1 design, assignment inside the lock): the same interleaving is clean', (t) => {
  const r = runScript(scenario(true, [], 20), RACE1, false);
  t.is(r.sig, 'clean');
});

test('Race 1, switch on: clean', (t) => {
  t.is(runScript(scenario(false, [], 20), RACE1, false).sig, 'clean');
});

/** Race 2: I duplicates the memslots (1), A activates and its shadow fault fills the published rmaps (2-3), I assigns fresh rmaps to its copies and publishes (4-5). */
const RACE2: ScriptStep[] = [
  { thread: 'ioctl', until: 'install_new_memslots:old_memslots->generation.load' },
  { thread: 'vcpu0', until: null },
  { thread: 'ioctl', until: null },
];

test('Race 2, switch off: rmaps allocated between dup and install are replaced; their entries are lost', (t) => {
  const r = runScript(scenario(true, [], 12), RACE2);
  t.is(r.sig, 'INVARIANT rmap-entries-lost: rmap array with entries dropped from the memslots');
  t.regex(r.outcome.failure!.message, /rmap\(slot 0\)#1 holds 1 rmap entries/);
});

test('Race 2, switch on: the activator waits for slots_arch_lock; clean', (t) => {
  t.is(runScript(scenario(false, [], 12), RACE2, false).sig, 'clean');
});

/** DELETE with the activation inside the window where slots_arch_lock is dropped (1.2.I 4b–4d). */
const DELETE_WINDOW: ScriptStep[] = [
  { thread: 'ioctl', until: 'kvm_mmu_zap_all_fast:mmu_lock.write_lock' },
  { thread: 'vcpu0', until: null },
  { thread: 'ioctl', until: null },
];

test('sketch variant: DELETE without the re-copy publishes slots without rmaps (Ben: "issues on a move or delete")', (t) => {
  const r = runScript(scenario(false, ['slots-arch-lock:sketch'], 12, 'DELETE'), DELETE_WINDOW, false);
  t.is(r.sig, 'INVARIANT rmap-publication: memslot published without rmaps after rmaps were enabled');
  t.is(runScript(scenario(false, [], 12, 'DELETE'), DELETE_WINDOW, false).sig, 'clean');
});

test('hold-across-sync variant: slots_arch_lock across synchronize_srcu is a lock-order inversion with the vCPU', (t) => {
  const found = crashes(explore(scenario(false, ['slots-arch-lock:hold-across-sync'], 12), 60));
  t.true(found.some((f) => f.startsWith('LOCKDEP') || f.startsWith('DEADLOCK')), found.join('; '));
});

test('exploration: off side finds lost rmaps, on side finds nothing', (t) => {
  const off = crashes(explore(scenario(true, [], 12), 200));
  t.true(off.includes('INVARIANT rmap-entries-lost: rmap array with entries dropped from the memslots'), off.join('; '));
  t.deepEqual(crashes(explore(scenario(false, [], 12), 200)), []);
  t.deepEqual(crashes(explore(scenario(false, [], 12, 'DELETE'), 200)), []);
});
