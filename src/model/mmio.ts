/**
 * Memslot generations in MMIO SPTEs and the per-vCPU MMIO cache (1.4.3,
 * seed 002). Which generation bits an MMIO SPTE keeps depends on the
 * `mmio-gen-after-srcu` switch:
 *
 * - off (before ee3d1570b586): the low 19 bits are stored and compared;
 * - on: the generation is compared on 20 bits, the SPTE stores bits 1..19
 *   and bit 0 reads back as 0, so an SPTE never matches while the current
 *   generation is odd (an update in progress).
 *
 * The vCPU MMIO cache keeps the full generation and matches on equality.
 */
import type { SimThread, Step } from '../runtime';
import type { Kvm } from './kvm';
import { APIC_DEFAULT_GFN } from './memslots';
import type { Vcpu } from './vcpu';

/** The generation bits an MMIO SPTE stores for generation `gen`. */
export function mmioStoredGen(kvm: Kvm, gen: bigint): number {
  return kvm.config.switches['mmio-gen-after-srcu'] ? Number(gen & 0xffffen) : Number(gen & 0x7ffffn);
}

/** `check_mmio_spte`'s generation test: does an SPTE storing `stored` match generation `gen`? */
export function mmioGenMatches(kvm: Kvm, stored: number, gen: bigint): boolean {
  return kvm.config.switches['mmio-gen-after-srcu'] ? stored === Number(gen & 0xfffffn) : stored === Number(gen & 0x7ffffn);
}

/** Are the MMIO generation bits of `gen` zero (wrapped)? (`kvm_mmu_invalidate_mmio_sptes`) */
export function mmioGenWrapped(kvm: Kvm, gen: bigint): boolean {
  return kvm.config.switches['mmio-gen-after-srcu'] ? (gen & 0xffffen) === 0n : (gen & 0x7ffffn) === 0n;
}

/**
 * `vcpu_cache_mmio_info(vcpu, gva, gfn, access)`: tag the vCPU's MMIO cache
 * with the generation read from a fresh `kvm_memslots()` pointer (which may
 * be newer than the array the caller decided "no slot" from). `decidedGen`
 * is bookkeeping for the stale-MMIO oracle's message.
 */
export function* vcpu_cache_mmio_info(t: SimThread, kvm: Kvm, vcpu: Vcpu, gfn: number, decidedGen: bigint): Step {
  yield 'vcpu_cache_mmio_info:kvm->memslots.load';
  const slots = t.load(kvm, 'memslots');
  yield 'vcpu_cache_mmio_info:memslots.generation.load';
  const gen = t.load(slots, 'generation');
  yield 'vcpu_cache_mmio_info:vcpu.mmio_gfn.store';
  t.invariant(!(kvm.params.apicAccessSlot && gfn === APIC_DEFAULT_GFN), 'apic-mmio-cached', 'APIC gfn put in the MMIO cache',
    () => `${vcpu.name} caches the APIC-access gfn as MMIO while the APIC-access memslot exists`);
  t.store(vcpu, 'mmio_gfn', gfn);
  t.store(vcpu, 'mmio_gen', gen);
  vcpu.mmio_decided_gen = decidedGen;
  vcpu.mmio_tag_step = t.ex.step;
}

/** `vcpu_clear_mmio_info`. */
export function* vcpu_clear_mmio_info(t: SimThread, vcpu: Vcpu): Step {
  yield 'vcpu_clear_mmio_info:vcpu.mmio_gfn.store';
  t.store(vcpu, 'mmio_gfn', -1);
}

/**
 * Oracle (seed 002 d.1) at every MMIO hit: a gfn that has a memslot in the
 * published memslots must not be emulated as MMIO. Refined (see the model
 * README): while the memslot update that published that slot is still in
 * install_new_memslots, an access races with the ioctl and either outcome is
 * allowed — except a hit on an entry tagged *before* the slot was published
 * (the seed's claim that such entries are invalidated immediately).
 * `tagged` / `decided` are the entry's provenance (d.2), printed on a hit.
 */
export function checkStaleMmio(t: SimThread, kvm: Kvm, gfn: number, via: string, tagged: string, decided: string, tagStep: number): void {
  const slots = kvm.memslots;
  const slot = slots.find(gfn);
  if (slot === null || slot.invalid) return;
  const why = () => `${t.name}: MMIO hit on gfn ${gfn} via ${via}, but ${slot.describe()} maps it in the published memslots (generation ${slots.generation}); entry tagged with generation ${tagged} at step ${tagStep}, decided "no slot" from generation ${decided}`;
  if (slots.install_done) {
    t.invariant(false, 'stale-mmio', 'gfn has a memslot but hit the MMIO cache', why);
  }
  t.invariant(tagStep >= slots.published_step, 'stale-mmio-old-entry', 'MMIO entry older than the memslot update still matches during it', why);
}
