/**
 * Seed 002 (ee3d1570b586, `mmio-gen-after-srcu`): a vCPU decides "gfn is
 * MMIO" from the old memslots, the updater publishes a slot covering the gfn
 * and waits in synchronize_srcu, and the vCPU then tags its MMIO cache and
 * MMIO SPTE with the *new* generation. kvm-mmu-model.md 3.3 (c).
 */
import test from 'ava';
import { findHarness } from '../../harnesses';
import { decode, stripHeader } from '../../src/fuzz/codec';
import { scenarioSource } from '../../src/fuzz/scenario';
import { Execution, FeatureMap } from '../../src/runtime';
import { configOf } from '../../src/model/switches';
import { spawnVm } from '../../src/model/vm';
import { ScriptedSource } from '../../src/strategies';
import { crashes, explore, runScript } from './helpers';
import { MMIO_OLD_ENTRY, MMIO_TABLE, mmioScenario } from './scenarios';

const scenario = mmioScenario;
const TABLE = MMIO_TABLE;

test('switch off: the MMIO cache tagged with the new generation keeps emulating RAM as MMIO after the update', (t) => {
  const r = runScript(scenario(true), TABLE);
  t.is(r.sig, 'INVARIANT stale-mmio: gfn has a memslot but hit the MMIO cache');
  t.regex(r.outcome.failure!.message, /tagged with generation 1 .*decided "no slot" from generation 0/);
});

test('switch on: the same interleaving misses the cache and maps the RAM page', (t) => {
  const r = runScript(scenario(false), TABLE, true, true);
  t.is(r.sig, 'clean');
  t.is(r.kvm.memslots.generation, 2n);
  // The second access went through the normal fault path and found the new slot.
  t.true(r.outcome.trace!.some((e) => e.label === 'kvm_vcpu_gfn_to_memslot:kvm->memslots.load' && /gfn 20: slot 1/.test(e.detail)));
});

test('switch on: an MMIO SPTE built during the update never matches (odd generation, stored bit 0 = 0)', (t) => {
  // Stop the vCPU after it installed the MMIO SPTE, let the update finish, access again: the SPTE misses.
  const r = runScript(scenario(false), TABLE, true, true);
  const misses = r.outcome.trace!.filter((e) => e.label === 'check_mmio_spte:kvm_vcpu_memslots(vcpu)->generation.load');
  t.true(misses.length >= 1);
  t.is(r.sig, 'clean');
});

test('exploration: off side finds stale-mmio, on side none', (t) => {
  const off = crashes(explore(scenario(true), 400));
  const on = crashes(explore(scenario(false), 400));
  t.true(off.includes('INVARIANT stale-mmio: gfn has a memslot but hit the MMIO cache'), `off: ${off.join('; ')}`);
  t.deepEqual(on, []);
});

test('claim variant single-advance: old cached MMIO entries stay valid during the update', (t) => {
  // The vCPU caches "MMIO" before the update starts, re-enters the guest, and faults on the MMIO SPTE
  // again after the updater has published the slot but before synchronize_srcu returned.
  const script = MMIO_OLD_ENTRY;
  const r = runScript(scenario(false, ['mmio-gen-after-srcu:single-advance']), script, false);
  t.is(r.sig, 'INVARIANT stale-mmio-old-entry: MMIO entry older than the memslot update still matches during it');
  // With the first advance kept (the seed's patch), the old entry stops matching at publication.
  t.is(runScript(scenario(false), script, false).sig, 'clean');
});

test('generation near the wrap point: the MMIO zap on wrap keeps the model clean (on) and the off side still races', (t) => {
  t.deepEqual(crashes(explore(scenario(false, [], 0xffffen), 100)), []);
  t.true(crashes(explore(scenario(true, [], 0x7fffen), 200)).length > 0);
});

test('a MOVE republishes its recycled scratch array: a hit during that install races the ioctl (regression)', (t) => {
  // Found by 10 minutes of fuzzing with every switch on: the oracle's "update done" mark
  // stayed set on the scratch array from its earlier publication, so a legitimate hit
  // during the MOVE's second install was reported as stale.
  const h = findHarness('mmio-gen')!;
  const s = decode(h, stripHeader(Buffer.from('TU1GAgAAAAAAAAIAAQAAAQACAAEAAAEAAgAAAAACASAPAhAACAEWAhoBCAAeAQUBBAAKAQUCIwAHASIBIAAHAg==', 'base64')));
  const o = h.execute(s, h.configure([], []), scenarioSource(s), {});
  t.is(o.failure, null);
});

test('atomicity features see the race\'s window: the vCPU reads kvm->memslots, the updater publishes, the vCPU reads it again', (t) => {
  const count = (script: typeof TABLE, atomicity: boolean, strict = true): number => {
    const s = scenario(true);
    const source = new ScriptedSource(script, strict, {});
    const features = new FeatureMap();
    const ex = new Execution(source, { maxSteps: 20_000, features, atomicity });
    source.attach(() => ex.threads);
    spawnVm(ex, configOf(s.off ?? [], []), s.params ?? {}, s.program, s.setup);
    ex.run();
    return features.count();
  };
  // One read/write/read triple in the seed's interleaving (and no other).
  t.is(count(TABLE, true) - count(TABLE, false), 1);
  // The vCPU's accesses all before the update: no triple.
  const serial: typeof TABLE = [{ thread: 'vcpu0', until: null }, { thread: 'ioctl', until: null }];
  t.true(count(serial, false, false) > 0);
  t.is(count(serial, true, false), count(serial, false, false));
});
