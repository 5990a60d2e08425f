/**
 * Seed 004 (`slots-arch-lock`): lazily allocated rmaps. The activator is a
 * vCPU allocating its first shadow root (nested L2 entry); the installer is
 * the VMM creating or deleting a memslot; the user is a shadow-MMU fault
 * adding rmap entries. kvm-mmu-model.md 3.5 (c).
 */
import test from 'ava';
import { signatureOf } from '../../src/runtime';
import { crashes, explore, runScript } from './helpers';
import { RMAP_DELETE_WINDOW, RMAP_RACE1, RMAP_RACE2, rmapScenario } from './scenarios';

const scenario = rmapScenario;
const RACE1 = RMAP_RACE1;
const RACE2 = RMAP_RACE2;
const DELETE_WINDOW = RMAP_DELETE_WINDOW;

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

test('Race 2, switch off: rmaps allocated between dup and install are replaced; their entries are lost', (t) => {
  const r = runScript(scenario(true, [], 12), RACE2);
  t.is(r.sig, 'INVARIANT rmap-entries-lost: rmap array with entries dropped from the memslots');
  t.regex(r.outcome.failure!.message, /rmap\(slot 0\)#1 holds 1 rmap entries/);
});

test('Race 2, switch on: the activator waits for slots_arch_lock; clean', (t) => {
  t.is(runScript(scenario(false, [], 12), RACE2, false).sig, 'clean');
});

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
