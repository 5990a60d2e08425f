/**
 * Seed 001 (`vcpu-apicv-state`): a vCPU handles a fault on the APIC-access
 * page while another actor toggles APICv; off = the fault reads the VM's
 * APICv state (variant A), on = the vCPU's own (variant B, the patch).
 * kvm-mmu-model.md 3.2 (c). The seed argues both are correct: every
 * scenario it describes is clean on both sides, through different paths.
 *
 * FINDING (on side): the seed's case 2b assumes the fault took its
 * mmu_notifier_seq snapshot before kvm_zap_gfn_range bumped it. If the whole
 * APICv update runs between the vCPU's VM-exit and that snapshot, the fault
 * reads the vCPU's stale "active", installs the APIC-access SPTE after the
 * zap, nothing zaps it, and the vCPU then applies "inactive" and enters the
 * guest with the page mapped (oracle 1). Variant A (the VM's state) and the
 * bail-on-request claim variant are clean on that schedule.
 */
import test from 'ava';
import type { ScriptStep } from '../../src/strategies';
import { type Run, crashes, explore, runScript } from './helpers';
import { APIC_S2C, apicScenario } from './scenarios';

const scenario = apicScenario;

/** Did some step install an SPTE mapping the APIC-access page? */
function installedApicSpte(r: Run): boolean {
  const pfn = r.kvm.apic_access_page!.pfn;
  return r.outcome.trace!.some((e) => e.label === 'tdp_mmu_set_spte_atomic:cmpxchg' && e.detail.includes(`⇐ leaf`) && e.detail.includes(`pfn ${pfn}`));
}

const emulated = (r: Run): number => r.outcome.trace!.filter((e) => e.label === 'x86_emulate_instruction:emulate').length;

const S2A: ScriptStep[] = [
  { thread: 'vcpu0', until: 'kvm_faultin_pfn:*' }, // V1, V2: exit, mmu_seq snapshot
  { thread: 'ioctl', until: 'kvm_zap_gfn_range:mmu_lock.write_lock' }, // U1, U2, U4 (V outside guest mode: no wait), U5
  { thread: 'vcpu0', until: 'vcpu_enter_guest:vcpu->requests.load' }, // V3–V8
  { thread: 'ioctl', until: null }, // U6 zaps, U7
  { thread: 'vcpu0', until: null }, // V9: service the request, re-enter
];

test('scenario 2a, switch on: the fault installs a "bad" SPTE that the update zaps before any entry', (t) => {
  const r = runScript(scenario(false), S2A, true, true);
  t.is(r.sig, 'clean');
  t.true(installedApicSpte(r));
  t.false(r.kvm.vcpus[0]!.apicv_active);
  t.is(emulated(r), 2); // both accesses, after the update, go to emulation
});

test('scenario 2a, switch off: the fault sees the VM inhibited and emulates without an SPTE', (t) => {
  const r = runScript(scenario(true), S2A, true, true);
  t.is(r.sig, 'clean');
  t.false(installedApicSpte(r));
});

const S2B: ScriptStep[] = [
  { thread: 'vcpu0', until: 'kvm_faultin_pfn:*' },
  { thread: 'ioctl', until: null }, // U1–U7: kvm_zap_gfn_range bumps mmu_notifier_seq before the fault takes mmu_lock
  { thread: 'vcpu0', until: null },
];

test('scenario 2b, switch on: the fault bails out on the changed mmu_notifier_seq (RET_PF_RETRY)', (t) => {
  const r = runScript(scenario(false), S2B, true, true);
  t.is(r.sig, 'clean');
  t.false(installedApicSpte(r));
  t.true(r.outcome.trace!.some((e) => e.label === 'kvm_mmu_page_fault:RET_PF_RETRY'));
});

test('scenario 2b, switch off: the fault reads the inhibited VM state and emulates', (t) => {
  const r = runScript(scenario(true), S2B, true, true);
  t.is(r.sig, 'clean');
  t.false(installedApicSpte(r));
  t.false(r.outcome.trace!.some((e) => e.label === 'kvm_mmu_page_fault:RET_PF_RETRY'));
});

const S1: ScriptStep[] = [
  { thread: 'vcpu0', until: 'kvm_faultin_pfn:*' },
  { thread: 'ioctl', until: null }, // un-inhibit: request, VM state active; nothing zapped
  { thread: 'vcpu0', until: null },
];

test('scenario 1, switch on: globally enabled, locally disabled → straight to emulation, no SPTE, no MMIO cache', (t) => {
  const r = runScript(scenario(false, true), S1, true, true);
  t.is(r.sig, 'clean');
  const trace = r.outcome.trace!;
  const firstEmulate = trace.findIndex((e) => e.label === 'x86_emulate_instruction:emulate');
  const applied = trace.findIndex((e) => e.label === 'kvm_vcpu_update_apicv:vcpu->arch.apicv_active.store');
  t.true(firstEmulate >= 0 && firstEmulate < applied, 'the first access is emulated before the vCPU applies the update');
  t.is(r.kvm.vcpus[0]!.mmio_gfn, -1);
  t.true(r.kvm.vcpus[0]!.apicv_active);
});

test('scenario 1, switch off: the VM state says active → the page is mapped before the vCPU applies it', (t) => {
  const r = runScript(scenario(true, true), S1, true, true);
  t.is(r.sig, 'clean');
  t.true(installedApicSpte(r));
});

const S2C = APIC_S2C;

test('FINDING, switch on: an update between VM-exit and the mmu_seq snapshot leaves the APIC page mapped', (t) => {
  const r = runScript(scenario(false), S2C, true, true);
  t.is(r.sig, 'INVARIANT apic-page-mapped-at-entry: APIC-access page mapped at guest entry with APICv inactive');
  t.true(installedApicSpte(r));
  // The snapshot was taken after kvm_zap_gfn_range had bumped mmu_notifier_seq: no retry.
  t.false(r.outcome.trace!.some((e) => e.label === 'kvm_mmu_page_fault:RET_PF_RETRY'));
});

test('the same schedule: switch off (the VM\'s state) and the bail-on-request variant are clean', (t) => {
  t.is(runScript(scenario(true), S2C).sig, 'clean');
  t.is(runScript(scenario(false, false, ['vcpu-apicv-state:bail-on-request']), S2C, false).sig, 'clean');
});

test('exploration: the off side is clean; the on side finds only the APIC-mapped-at-entry finding', (t) => {
  for (const un of [false, true]) t.deepEqual(crashes(explore(scenario(true, un), 300)), [], `off, uninhibit=${un}`);
  t.deepEqual(crashes(explore(scenario(false, true), 300)), []);
  t.deepEqual(crashes(explore(scenario(false), 300)), ['INVARIANT apic-page-mapped-at-entry: APIC-access page mapped at guest entry with APICv inactive']);
  t.deepEqual(crashes(explore(scenario(false, false, ['vcpu-apicv-state:bail-on-request']), 300)), []);
});
