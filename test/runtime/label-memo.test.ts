/**
 * Labels built at run time: the formats the traces and signatures rely on,
 * and one string object per label (the feature map hashes it once).
 */
import test from 'ava';
import { callLabel, label, memberLabel, SiteLabels } from '../../src/runtime/label-memo';
import { requestNames } from '../../src/model/vcpu';

test('label, callLabel and memberLabel build fn:action, fn:callee(arg) and fn:object.op', (t) => {
  t.is(label('kvm_mmu_page_fault', 'sp.unsync.load'), 'kvm_mmu_page_fault:sp.unsync.load');
  t.is(callLabel('vcpu_enter_guest', 'vm_exit', 'kick'), 'vcpu_enter_guest:vm_exit(kick)');
  t.is(callLabel('kvm_request_apicv_update', 'kvm_make_request', 0b1001, requestNames), 'kvm_request_apicv_update:kvm_make_request(MMU_RELOAD|APICV_UPDATE)');
  t.is(callLabel('f', 'g', 7), 'f:g(7)', 'a number without a renderer is shown as is');
  t.is(memberLabel('kvm_tdp_mmu_map', 'mmu_lock', 'read_lock'), 'kvm_tdp_mmu_map:mmu_lock.read_lock');
});

test('memoised: a repeated call returns the stored string, rendered once per distinct value', (t) => {
  let shown = 0;
  const show = (n: number) => {
    shown++;
    return `#${n}`;
  };
  t.is(callLabel('memo-test', 'h', 3, show), 'memo-test:h(#3)');
  t.is(callLabel('memo-test', 'h', 3, show), 'memo-test:h(#3)');
  t.is(shown, 1);
  t.is(callLabel('memo-test', 'h', 4, show), 'memo-test:h(#4)');
  t.is(shown, 2);
  t.is(memberLabel('f', 'lock', 'lock'), memberLabel('f', 'lock', 'lock'));
});

test('SiteLabels: made once per (object name, function) and shared by every caller', (t) => {
  const made: string[] = [];
  const sites = new SiteLabels((fn, name) => {
    made.push(`${name}@${fn}`);
    return { lock: memberLabel(fn, name, 'lock') };
  });
  const a = sites.get('mmu_lock', 'kvm_tdp_mmu_map');
  t.is(a.lock, 'kvm_tdp_mmu_map:mmu_lock.lock');
  t.is(sites.get('mmu_lock', 'kvm_tdp_mmu_map'), a, 'the same object on a second use');
  t.not(sites.get('mmu_lock', 'zap_gfn_range'), a);
  t.not(sites.get('slots_lock', 'kvm_tdp_mmu_map'), a);
  t.deepEqual(made, ['mmu_lock@kvm_tdp_mmu_map', 'mmu_lock@zap_gfn_range', 'slots_lock@kvm_tdp_mmu_map']);
});
