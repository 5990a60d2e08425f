/**
 * The seed switches (DESIGN.md §3) and their claim variants
 * (kvm-mmu-model.md, part (e) of each seed). A switch on = the document's
 * patch applied (the default); off = the code before it. A variant takes one
 * piece out of (or puts one piece into) one side of a switch to test a claim
 * the document makes; variants are never on by default.
 */

export const SWITCH_NAMES = [
  'tdp-unsync-lock',
  'vcpu-apicv-state',
  'mmio-gen-after-srcu',
  'roots-off-list',
  'slots-arch-lock',
] as const;

export type SwitchName = (typeof SWITCH_NAMES)[number];

export interface SwitchInfo {
  readonly name: SwitchName;
  readonly seed: string;
  readonly summary: string;
}

export const SWITCHES: readonly SwitchInfo[] = [
  { name: 'tdp-unsync-lock', seed: '000 (ce25681d59)', summary: 'mark indirect shadow pages unsync from TDP MMU faults under mmu_unsync_pages_lock' },
  { name: 'vcpu-apicv-state', seed: '001', summary: 'APIC-access memslot fault reads the vCPU\'s APICv state instead of the VM\'s' },
  { name: 'mmio-gen-after-srcu', seed: '002 (ee3d1570b586)', summary: 'memslot generation: in-progress marker at publication, second advance after synchronize_srcu' },
  { name: 'roots-off-list', seed: '003', summary: 'invalidated TDP MMU roots moved off tdp_mmu_roots to a caller-local list' },
  { name: 'slots-arch-lock', seed: '004', summary: 'slots_arch_lock held from memslot duplication to publication; lazy rmaps' },
];

export interface VariantInfo {
  /** `<switch>:<variant>` */
  readonly name: string;
  readonly switch: SwitchName;
  /** The side of the switch the variant modifies. */
  readonly side: 'on' | 'off';
  readonly summary: string;
}

export const VARIANTS: readonly VariantInfo[] = [
  { name: 'tdp-unsync-lock:tdp-mmu-pages-lock', switch: 'tdp-unsync-lock', side: 'on', summary: 'piggyback tdp_mmu_pages_lock instead of a new mmu_unsync_pages_lock' },
  { name: 'tdp-unsync-lock:read-lock-only', switch: 'tdp-unsync-lock', side: 'on', summary: 'only callers holding mmu_lock for read take the spinlock' },
  { name: 'tdp-unsync-lock:no-unsync', switch: 'tdp-unsync-lock', side: 'off', summary: 'alternative #1: TDP MMU faults pass can_unsync = 0' },
  { name: 'tdp-unsync-lock:atomics', switch: 'tdp-unsync-lock', side: 'off', summary: 'alternative #2: atomic bitops and counters, no spinlock' },
  { name: 'vcpu-apicv-state:bail-on-request', switch: 'vcpu-apicv-state', side: 'on', summary: 'also bail out of the APIC-access fault if KVM_REQ_APICV_UPDATE is pending' },
  { name: 'mmio-gen-after-srcu:single-advance', switch: 'mmio-gen-after-srcu', side: 'on', summary: 'no advance at publication; a single advance of 2 after synchronize_srcu' },
  { name: 'roots-off-list:no-restart', switch: 'roots-off-list', side: 'on', summary: 'the patch without the restart in tdp_mmu_next_root' },
  { name: 'roots-off-list:no-rcu-next', switch: 'roots-off-list', side: 'on', summary: 'successor lookup in tdp_mmu_next_root without rcu_read_lock' },
  { name: 'roots-off-list:plain-list-del', switch: 'roots-off-list', side: 'on', summary: 'kvm_tdp_mmu_put_root removes the root with list_del, not list_del_rcu' },
  { name: 'roots-off-list:unsafe-iter', switch: 'roots-off-list', side: 'on', summary: 'kvm_tdp_mmu_zap_invalidated_roots iterates the local list without the _safe variant' },
  { name: 'slots-arch-lock:v1-assign-outside-lock', switch: 'slots-arch-lock', side: 'off', summary: 'v1 design with the assignment outside memslot_assignment_lock (Ben\'s race)' },
  { name: 'slots-arch-lock:sketch', switch: 'slots-arch-lock', side: 'on', summary: 'Paolo\'s sketch: no kvm_copy_memslots re-copy after the lock is dropped' },
  { name: 'slots-arch-lock:hold-across-sync', switch: 'slots-arch-lock', side: 'on', summary: 'slots_arch_lock kept across synchronize_srcu (should deadlock)' },
];

/** Which switches are on, and which claim variants are applied. */
export interface ModelConfig {
  readonly switches: Readonly<Record<SwitchName, boolean>>;
  readonly variants: ReadonlySet<string>;
}

/** Every switch on, no variant: the patched kernel. */
export function defaultConfig(): ModelConfig {
  return configOf([], []);
}

/**
 * Builds a configuration from switch names turned off and variant names.
 * Throws an Error with a one-line message on an unknown name or a variant
 * whose switch side does not match.
 */
export function configOf(off: readonly string[], variants: readonly string[]): ModelConfig {
  const switches = Object.fromEntries(SWITCH_NAMES.map((n) => [n, true])) as Record<SwitchName, boolean>;
  for (const o of off) {
    if (!(SWITCH_NAMES as readonly string[]).includes(o)) {
      throw new Error(`unknown switch '${o}' (known: ${SWITCH_NAMES.join(', ')})`);
    }
    switches[o as SwitchName] = false;
  }
  const set = new Set<string>();
  for (const v of variants) {
    const info = VARIANTS.find((x) => x.name === v);
    if (info === undefined) throw new Error(`unknown variant '${v}' (known: ${VARIANTS.map((x) => x.name).join(', ')})`);
    const on = switches[info.switch];
    if ((info.side === 'on') !== on) {
      throw new Error(`variant '${v}' modifies the ${info.side} side of ${info.switch}: ${info.side === 'on' ? 'do not turn it off' : `add --off ${info.switch}`}`);
    }
    set.add(v);
  }
  return { switches, variants: set };
}

/** Short text of a configuration, e.g. `off: roots-off-list; variants: roots-off-list:no-restart`. */
export function describeConfig(c: ModelConfig): string {
  const off = SWITCH_NAMES.filter((n) => !c.switches[n]);
  const parts = [off.length === 0 ? 'all switches on' : `off: ${off.join(', ')}`];
  if (c.variants.size > 0) parts.push(`variants: ${[...c.variants].join(', ')}`);
  return parts.join('; ');
}
