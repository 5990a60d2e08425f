/**
 * Builds engine harnesses (src/fuzz/harness.ts) on the KVM MMU model: thread
 * slots with operation vocabularies that map argument bytes onto model
 * operations, an initial state chosen by the config byte, and a serial
 * set-up phase ("prelude") that runs before the fuzzed programs race. The
 * prelude's steps are forced (one runnable thread at a time), so they cost
 * no decisions and no fuzz bytes.
 */
import type { HarnessConfig, Harness, OpSpec, ThreadSlot } from '../src/fuzz/harness';
import type { Op, Scenario } from '../src/fuzz/scenario';
import { type Blocker, call, Execution, type ExecutionOptions, type Outcome, type SimThread, type Step } from '../src/runtime';
import type { DecisionSource } from '../src/runtime/decision-source';
import type { Kvm, KvmParams } from '../src/model/kvm';
import { APIC_DEFAULT_GFN } from '../src/model/memslots';
import type { MemslotRequest } from '../src/model/memslot-ops';
import { type ModelConfig, configOf } from '../src/model/switches';
import { recycleSpts } from '../src/model/mmu-page';
import { type VcpuOp, kvm_vcpu_run } from '../src/model/vcpu-run';
import { type IoctlOp, type MmOp, ioctlThread, mmThread, registerOracles } from '../src/model/vm';
import { Kvm as KvmClass } from '../src/model/kvm';

/** What a slot's thread is. */
export type SlotRole = { kind: 'vcpu'; vcpu: number } | { kind: 'ioctl' } | { kind: 'mm' };

/** An operation of a slot: its spec for the engine and how its argument bytes become a model operation. */
export interface ModelOp<T> {
  readonly spec: OpSpec;
  readonly make: (args: readonly number[]) => T;
  readonly show: (args: readonly number[]) => string;
}

export interface KvmSlot {
  readonly name: string;
  readonly role: SlotRole;
  readonly maxOps: number;
  readonly ops: readonly ModelOp<VcpuOp | IoctlOp | MmOp>[];
}

/** The initial state one config byte selects. */
export interface InitialState {
  readonly name: string;
  readonly params: Partial<KvmParams>;
  readonly setup?: (kvm: Kvm) => void;
  /** Serial set-up per slot (vCPU slots only), run in slot order before the race. */
  readonly preludes?: Readonly<Record<string, readonly VcpuOp[]>>;
}

export interface KvmHarnessDef {
  readonly name: string;
  readonly description: string;
  readonly slots: readonly KvmSlot[];
  readonly states: readonly InitialState[];
  readonly maxSteps?: number;
}

/** Picks `args[i] % list.length` from a list. */
export function pick<T>(list: readonly T[], b: number | undefined): T {
  return list[(b ?? 0) % list.length]!;
}

// ---- common operation vocabularies -----------------------------------------

export function accessOp(gfns: readonly number[]): ModelOp<VcpuOp> {
  return {
    spec: { name: 'access', args: [{ name: 'gfn', range: gfns.length }, { name: 'write', range: 2 }] },
    make: (a) => ({ kind: 'access', gfn: pick(gfns, a[0]), write: (a[1] ?? 0) % 2 === 1 }),
    show: (a) => `access(gfn ${showGfn(pick(gfns, a[0]))}, ${(a[1] ?? 0) % 2 === 1 ? 'write' : 'read'})`,
  };
}

export function eptWriteOp(tables: readonly number[], idxs: readonly number[], values: readonly number[]): ModelOp<VcpuOp> {
  return {
    spec: { name: 'ept-write', args: [{ name: 'table', range: tables.length }, { name: 'idx', range: idxs.length }, { name: 'value', range: values.length }] },
    make: (a) => ({ kind: 'ept-write', table: pick(tables, a[0]), idx: pick(idxs, a[1]), value: pick(values, a[2]) }),
    show: (a) => `ept-write(table gfn ${pick(tables, a[0])}, idx ${pick(idxs, a[1])}, value ${pick(values, a[2])})`,
  };
}

export const inveptOp: ModelOp<VcpuOp> = {
  spec: { name: 'invept', args: [] },
  make: () => ({ kind: 'invept' }),
  show: () => 'invept',
};

export function l2AccessOp(l2gfns: readonly number[]): ModelOp<VcpuOp> {
  return {
    spec: { name: 'l2-access', args: [{ name: 'l2gfn', range: l2gfns.length }] },
    make: (a) => ({ kind: 'l2-access', l2gfn: pick(l2gfns, a[0]) }),
    show: (a) => `l2-access(l2gfn ${pick(l2gfns, a[0])})`,
  };
}

/** Memslot ioctls on a few slot layouts: create, delete, move, flags. */
export function memslotOp(layouts: readonly { id: number; base_gfn: number; npages: number; userspace_addr: number }[]): ModelOp<IoctlOp> {
  const changes = ['CREATE', 'DELETE', 'MOVE', 'FLAGS_ONLY'] as const;
  return {
    spec: { name: 'memslot', args: [{ name: 'change', range: changes.length }, { name: 'layout', range: layouts.length }] },
    make: (a) => {
      const l = pick(layouts, a[1]);
      const change = pick(changes, a[0]);
      const req: MemslotRequest = { change, id: l.id, base_gfn: l.base_gfn, npages: l.npages, userspace_addr: l.userspace_addr, flags: 0 };
      return { kind: 'memslot', req };
    },
    show: (a) => {
      const l = pick(layouts, a[1]);
      return `memslot(${pick(changes, a[0])} slot ${l.id} gfn ${l.base_gfn}+${l.npages})`;
    },
  };
}

export const apicvOp: ModelOp<IoctlOp> = {
  spec: { name: 'apicv', args: [{ name: 'activate', range: 2 }, { name: 'bit', range: 2 }] },
  make: (a) => ({ kind: 'apicv', activate: (a[0] ?? 0) % 2 === 1, bit: (a[1] ?? 0) % 2 }),
  show: (a) => `apicv(${(a[0] ?? 0) % 2 === 1 ? 'un-inhibit' : 'inhibit'} bit ${(a[1] ?? 0) % 2})`,
};

export const zapAllFastOp: ModelOp<IoctlOp> = {
  spec: { name: 'zap-all-fast', args: [] },
  make: () => ({ kind: 'zap-all-fast' }),
  show: () => 'zap-all-fast (set_nx_huge_pages)',
};

export function unmapOp(hvas: readonly number[]): ModelOp<MmOp> {
  return {
    spec: { name: 'unmap', args: [{ name: 'hva', range: hvas.length }, { name: 'npages', range: 2 }] },
    make: (a) => ({ kind: 'unmap', hva: pick(hvas, a[0]), npages: 1 + ((a[1] ?? 0) % 2) }),
    show: (a) => `unmap(hva 0x${pick(hvas, a[0]).toString(16)}, ${1 + ((a[1] ?? 0) % 2)} pages)`,
  };
}

function showGfn(g: number): string {
  return g === APIC_DEFAULT_GFN ? '0xfee00 (APIC)' : String(g);
}

// ---- the harness --------------------------------------------------------------

/** What one slot's thread runs in one execution (slotThread). */
interface SlotRun {
  readonly kvm: Kvm;
  readonly role: SlotRole;
  readonly prog: readonly (VcpuOp | IoctlOp | MmOp)[];
  readonly prelude: readonly VcpuOp[];
  /** This slot's place in the serial set-up, or -1 when it has no prelude. */
  readonly myTurn: number;
  /** Slots with a prelude. */
  readonly total: number;
  readonly gate: { turn: number };
  readonly allDone: Blocker;
}

/**
 * The body of a slot's thread: its prelude in its turn, then, once every
 * prelude is done, its program. A module-level generator, not a closure per
 * execution: V8 gives each generator function object its own prototype and
 * map, so a fresh one per execution made every `next()` call site
 * megamorphic and kept young objects alive across scavenges.
 */
function* slotThread(t: SimThread, r: SlotRun): Step {
  const { kvm, role } = r;
  if (role.kind === 'vcpu') {
    const vcpu = kvm.vcpus[role.vcpu]!;
    if (r.myTurn >= 0) {
      yield { label: 'harness:prelude_turn', waitsFor: 'harness prelude', ready: () => r.gate.turn === r.myTurn };
      yield* call(kvm_vcpu_run(t, kvm, vcpu, r.prelude));
      r.gate.turn++;
    }
    if (r.total > 0) yield r.allDone;
    if (r.prog.length > 0) yield* call(kvm_vcpu_run(t, kvm, vcpu, r.prog as VcpuOp[]));
  } else {
    if (r.total > 0) yield r.allDone;
    if (role.kind === 'ioctl') yield* call(ioctlThread(t, kvm, r.prog as IoctlOp[]));
    else yield* call(mmThread(t, kvm, r.prog as MmOp[]));
  }
}

/** The configuration a KvmHarness runs with: the names, and the model's configuration built from them. */
export interface KvmHarnessConfig extends HarnessConfig {
  readonly model: ModelConfig;
}

/** A harness over the KVM model, built from a definition. */
export class KvmHarness implements Harness {
  readonly name: string;
  readonly description: string;
  readonly slots: readonly ThreadSlot[];
  readonly configRange: number;
  readonly maxSteps: number;

  constructor(readonly def: KvmHarnessDef) {
    this.name = def.name;
    this.description = def.description;
    this.slots = def.slots.map((s) => ({ name: s.name, maxOps: s.maxOps, ops: s.ops.map((o) => o.spec) }));
    this.configRange = def.states.length;
    this.maxSteps = def.maxSteps ?? 20_000;
  }

  configure(off: readonly string[], variants: readonly string[]): KvmHarnessConfig {
    // Throws a one-line Error on an unknown name or a mismatched variant.
    return { off: [...off], variants: [...variants], model: configOf(off, variants) };
  }

  describeOp(slot: number, op: Op): string {
    const s = this.def.slots[slot];
    const m = s?.ops[op.kind % Math.max(1, s.ops.length)];
    return m === undefined ? '?' : m.show(op.args);
  }

  describeConfig(config: number): string {
    return pick(this.def.states, config).name;
  }

  execute(s: Scenario, cfg: HarnessConfig, source: DecisionSource, opts: Partial<ExecutionOptions>): Outcome {
    const ex = new Execution(source, { maxSteps: this.maxSteps, ...opts });
    const state = pick(this.def.states, s.config);
    const vcpuCount = 1 + Math.max(0, ...this.def.slots.map((sl) => (sl.role.kind === 'vcpu' ? sl.role.vcpu : 0)));
    // The model configuration is built once, by configure(), not per execution.
    const model = 'model' in cfg ? (cfg as KvmHarnessConfig).model : configOf(cfg.off, cfg.variants);
    const kvm = new KvmClass(ex, model, { ...state.params, vcpus: Math.max(vcpuCount, state.params.vcpus ?? 0) });
    state.setup?.(kvm);
    // Set-up phase: preludes run one after another, in slot order, before anything else.
    const preludeSlots = this.def.slots.filter((sl) => sl.role.kind === 'vcpu' && (state.preludes?.[sl.name]?.length ?? 0) > 0);
    const gate = { turn: 0 };
    const total = preludeSlots.length;
    const allDone: Blocker = { label: 'harness:prelude_done', waitsFor: 'harness prelude', ready: () => gate.turn >= total };
    this.def.slots.forEach((slot, i) => {
      const prog = (s.programs[i] ?? []).map((op) => slot.ops[op.kind % slot.ops.length]!.make(op.args));
      const myTurn = preludeSlots.indexOf(slot);
      const prelude = state.preludes?.[slot.name] ?? [];
      if (prog.length === 0 && myTurn < 0) return;
      const run: SlotRun = { kvm, role: slot.role, prog, prelude, myTurn, total, gate, allDone };
      ex.spawn(slot.name, (t) => slotThread(t, run));
    });
    kvm.rcu.spawnActor('rcu');
    registerOracles(ex, kvm);
    const outcome = ex.run();
    // Nothing outside this call refers to the VM: its page tables can be reused.
    recycleSpts(kvm.frames.values());
    return outcome;
  }
}
