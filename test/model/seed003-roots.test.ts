/**
 * Seed 003 (`roots-off-list`): the fast zap invalidates every TDP MMU root
 * while an iterator of `for_each_tdp_mmu_root_yield_safe` (here the MMU
 * notifier's unmap) has yielded mmu_lock in the middle of a root.
 * kvm-mmu-model.md 3.4 (c).
 */
import test from 'ava';
import { signatureOf } from '../../src/runtime';
import type { ScriptStep } from '../../src/strategies';
import { crashes, explore, runScript, runWith } from './helpers';
import { ROOTS_TABLE, YIELD, rootsScenario } from './scenarios';
import { ScriptedSource } from '../../src/strategies';

const scenario = rootsScenario;
const TABLE = ROOTS_TABLE;

test('claim variant no-restart: the iterator follows R1 onto the fast zap\'s list and takes a reference on invalid R2', (t) => {
  const r = runScript(scenario(false, ['roots-off-list:no-restart']), TABLE, true, false, true, YIELD);
  t.is(r.sig, 'WARN kvm_tdp_mmu_get_root: reference on an invalid root');
  t.is(r.outcome.failure!.thread, 'mm');
  t.regex(r.outcome.failure!.message, /invalid root root R1/);
});

test('claim variant no-restart, roots in the other order: R2\'s successor is the fast zap\'s dead on-stack list head', (t) => {
  const other: ScriptStep[] = [{ thread: 'vcpu0', until: null }, { thread: 'vcpu1', until: null }, ...TABLE.slice(2)];
  const r = runWith(scenario(false, ['roots-off-list:no-restart']), new ScriptedSource(other, true, YIELD));
  t.is(r.sig, 'UAF tdp_mmu_next_root: stack frame freed by kvm_mmu_zap_all_fast');
  t.is(runWith(scenario(false), new ScriptedSource(other, true, YIELD)).sig, 'clean');
});

test('switch on (with the restart): the same interleaving is clean', (t) => {
  const r = runScript(scenario(false), TABLE, true, true, true, YIELD);
  t.is(r.sig, 'clean');
  // The iterator noticed R1 had been invalidated and restarted from the (now empty) list head.
  t.true(r.outcome.trace!.some((e) => e.label === 'tdp_mmu_next_root:prev_root.role.invalid.load' && /→ true/.test(e.detail)));
});

test('switch off: invalid roots stay on tdp_mmu_roots; the iterator skips them; clean', (t) => {
  const r = runScript(scenario(true), TABLE, true, false, true, YIELD);
  t.is(r.sig, 'clean');
});

test('WARN 2(ii): invalidating a root that is already invalid (a second fast zap while the first is zapping)', (t) => {
  // Only reachable if two fast zaps overlap, which slots_lock forbids: check that it is forbidden.
  const s = scenario(false);
  s.program.ioctl = [{ kind: 'zap-all-fast' }, { kind: 'zap-all-fast' }];
  t.deepEqual(crashes(explore(s, 100)).filter((c) => c.includes('already invalid')), []);
});

test('exploration: no-restart finds the invalid-root WARN; the patch and the baseline do not', (t) => {
  const norestart = crashes(explore(scenario(false, ['roots-off-list:no-restart']), 400));
  t.true(norestart.includes('WARN kvm_tdp_mmu_get_root: reference on an invalid root'), norestart.join('; '));
  for (const off of [true, false]) {
    const found = crashes(explore(scenario(off), 400)).filter((c) => c.includes('invalid root') || c.startsWith('BUG') || c.startsWith('REFCOUNT'));
    t.deepEqual(found, [], `off=${off}`);
  }
});

test('the trace of the no-restart WARN reads like the seed\'s table', (t) => {
  const r = runScript(scenario(false, ['roots-off-list:no-restart']), TABLE, true, true, true, YIELD);
  const labels = r.outcome.trace!.map((e) => `${r.outcome.threads[e.thread]} ${e.label}`);
  const i = (l: string): number => labels.findIndex((x) => x === l);
  t.true(i('mm tdp_mmu_iter_cond_resched:mmu_lock.write_unlock') < i('ioctl kvm_tdp_mmu_invalidate_all_roots:list_move_tail'));
  t.true(i('ioctl kvm_tdp_mmu_invalidate_all_roots:list_move_tail') < i('mm tdp_mmu_iter_cond_resched:mmu_lock.write_lock'));
  t.is(signatureOf(r.outcome.failure!), 'WARN kvm_tdp_mmu_get_root: reference on an invalid root');
});
