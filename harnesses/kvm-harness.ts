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
import {
  type Blocker, call, CopyPlan, DecisionSourceError, Execution, type ExecutionOptions, FeatureMap, ModelError, type Outcome, type SetupState, type SimThread,
  SnapshotRefused, type Step,
} from '../src/runtime';
import type { DecisionSource } from '../src/runtime/decision-source';
import type { Kvm, KvmParams } from '../src/model/kvm';
import { APIC_DEFAULT_GFN } from '../src/model/memslots';
import type { MemslotRequest } from '../src/model/memslot-ops';
import { type ModelConfig, configOf } from '../src/model/switches';
import { copySpt, recycleSpts } from '../src/model/mmu-page';
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
  /** Set-up snapshots of the states with preludes (see execute). */
  private readonly setups = new SetupSnapshots();
  /** Executions started from a copy of a set-up snapshot (tests and reports). */
  fromSetup = 0;
  /** Per initial state, the slots with a prelude (vCPU slots, in slot order): their turns in the set-up. */
  private readonly preludeSlots: readonly (readonly number[])[];

  constructor(readonly def: KvmHarnessDef) {
    this.name = def.name;
    this.description = def.description;
    this.slots = def.slots.map((s) => ({ name: s.name, maxOps: s.maxOps, ops: s.ops.map((o) => o.spec) }));
    this.configRange = def.states.length;
    this.maxSteps = def.maxSteps ?? 20_000;
    this.preludeSlots = def.states.map((st) => def.slots.flatMap((sl, i) => (sl.role.kind === 'vcpu' && (st.preludes?.[sl.name]?.length ?? 0) > 0 ? [i] : [])));
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
    const stateIdx = (s.config ?? 0) % this.def.states.length;
    const state = this.def.states[stateIdx]!;
    // The model configuration is built once, by configure(), not per execution.
    const model = 'model' in cfg ? (cfg as KvmHarnessConfig).model : configOf(cfg.off, cfg.variants);
    const progs = this.def.slots.map((slot, i) => (s.programs[i] ?? []).map((op) => slot.ops[op.kind % slot.ops.length]!.make(op.args)));
    // Set-up phase: preludes run one after another, in slot order, before anything else.
    const preludes = this.preludeSlots[stateIdx]!;
    // A slot gets a thread when it has a program or a prelude.
    const spawned = progs.map((p, i) => p.length > 0 || preludes.includes(i));
    // Untraced runs start from a copy of the state the preludes leave (see SetupSnapshots); traced ones show every step.
    if (preludes.length > 0 && opts.trace !== true && source.observeForced === undefined) {
      const setup = this.setups.get(cfg, stateIdx, spawned, () => this.runPreludes(model, stateIdx, spawned));
      if (setup !== null) return this.executeFromSetup(setup, progs, source, opts);
    }
    const ex = new Execution(source, { maxSteps: this.maxSteps, ...opts });
    const kvm = this.newVm(ex, model, state);
    this.spawnSlots(ex, kvm, stateIdx, spawned, progs);
    registerOracles(ex, kvm);
    const outcome = ex.run();
    // Nothing outside this call refers to the VM: its page tables can be reused.
    recycleSpts(kvm.frames.values());
    return outcome;
  }

  /** Spawns the `spawned` slots' threads (prelude in turn, then program), then the RCU actor. */
  private spawnSlots(ex: Execution, kvm: Kvm, stateIdx: number, spawned: readonly boolean[], progs: readonly (VcpuOp | IoctlOp | MmOp)[][]): { gate: { turn: number }; total: number } {
    const state = this.def.states[stateIdx]!;
    const preludes = this.preludeSlots[stateIdx]!;
    const gate = { turn: 0 };
    const total = preludes.length;
    const allDone: Blocker = { label: 'harness:prelude_done', waitsFor: 'harness prelude', ready: () => gate.turn >= total };
    this.def.slots.forEach((slot, i) => {
      if (!spawned[i]) return;
      const run: SlotRun = { kvm, role: slot.role, prog: progs[i]!, prelude: state.preludes?.[slot.name] ?? [], myTurn: preludes.indexOf(i), total, gate, allDone };
      ex.spawn(slot.name, (t) => slotThread(t, run));
    });
    kvm.rcu.spawnActor('rcu');
    return { gate, total };
  }

  private newVm(ex: Execution, model: ModelConfig, state: InitialState): Kvm {
    const vcpuCount = 1 + Math.max(0, ...this.def.slots.map((sl) => (sl.role.kind === 'vcpu' ? sl.role.vcpu : 0)));
    const kvm = new KvmClass(ex, model, { ...state.params, vcpus: Math.max(vcpuCount, state.params.vcpus ?? 0) });
    state.setup?.(kvm);
    return kvm;
  }

  /**
   * The template of a set-up snapshot: a VM with the `spawned` slots' threads
   * run through their preludes (their programs never start), under a source
   * that refuses any decision. Null when the preludes made a decision,
   * failed, or left state that cannot be copied.
   */
  private runPreludes(model: ModelConfig, stateIdx: number, spawned: readonly boolean[]): PreludeSetup | null {
    // The features are copied out by captureSetup: one scratch map serves every template.
    TEMPLATE_FEATURES.clear();
    const ex = new Execution(REFUSING_SOURCE, { maxSteps: this.maxSteps, features: TEMPLATE_FEATURES });
    const kvm = this.newVm(ex, model, this.def.states[stateIdx]!);
    // The programs never start: the template stops when the last prelude is done.
    const { gate, total } = this.spawnSlots(ex, kvm, stateIdx, spawned, this.def.slots.map(() => []));
    const slots = spawned.flatMap((b, i) => (b ? [i] : []));
    try {
      if (!ex.runSetup(() => gate.turn >= total)) return null;
      const setup = ex.captureSetup();
      return { setup, plan: CopyPlan.compile(kvm, ex, ex.threads, [model], copySpt), slots, total };
    } catch (e) {
      // A decision or a choice during the preludes (REFUSING_SOURCE), or state captureSetup refuses:
      // this combination always runs its preludes. A model error shows up again there.
      if (e instanceof SnapshotRefused || e instanceof DecisionSourceError || e instanceof ModelError) return null;
      throw e;
    }
  }

  /**
   * One execution from a copy of a set-up: the same threads as the template
   * (same ids), the VM copied into the new execution, each slot thread
   * starting where its prelude left it (waiting for the end of the set-up),
   * then the program.
   */
  private executeFromSetup(p: PreludeSetup, progs: readonly (VcpuOp | IoctlOp | MmOp)[][], source: DecisionSource, opts: Partial<ExecutionOptions>): Outcome {
    this.fromSetup++;
    const ex = new Execution(source, { maxSteps: this.maxSteps, ...opts });
    const runs: SlotRun[] = [];
    let kvm: Kvm | null = null;
    // The template's threads, in order: the spawned slots', then the RCU actor's.
    const threads = p.setup.threads.map((x, k) => (k < p.slots.length
      ? ex.createThread(x.name, (t) => slotThread(t, runs[k]!))
      : ex.createThread(x.name, (t) => kvm!.rcu.actor(t), { daemon: true })));
    kvm = p.plan.copy(ex, threads);
    const gate = { turn: p.total };
    const allDone: Blocker = { label: 'harness:prelude_done', waitsFor: 'harness prelude', ready: () => gate.turn >= p.total };
    for (const i of p.slots) runs.push({ kvm, role: this.def.slots[i]!.role, prog: progs[i]!, prelude: [], myTurn: -1, total: p.total, gate, allDone });
    ex.restoreSetup(p.setup);
    for (const t of threads) ex.prime(t);
    ex.checkRestored(p.setup);
    registerOracles(ex, kvm);
    const outcome = ex.run();
    recycleSpts(kvm.frames.values());
    return outcome;
  }
}

/** A set-up snapshot of one harness state and set of threads. */
interface PreludeSetup {
  readonly setup: SetupState;
  /** Copies the template's VM (never run further) into an execution. */
  readonly plan: CopyPlan<Kvm>;
  /** The slot of each template thread but the last (the RCU actor). */
  readonly slots: readonly number[];
  readonly total: number;
}

const TEMPLATE_FEATURES = new FeatureMap();

/** The decision source of set-up templates: a prelude that needs a decision cannot be snapshotted. */
const REFUSING_SOURCE: DecisionSource = {
  name: 'set-up',
  beginExecution: () => undefined,
  nextThread: () => {
    throw new SnapshotRefused('the preludes made a scheduling decision');
  },
  nextChoice: () => {
    throw new DecisionSourceError('the preludes made a model choice');
  },
};

/**
 * Set-up snapshots by switch configuration (its names: configure() makes a
 * new object per call, e.g. per benchmark trial), harness state and set of
 * spawned slots; null where refused.
 */
class SetupSnapshots {
  private readonly byNames = new Map<string, Map<number, PreludeSetup | null>>();
  private readonly byCfg = new WeakMap<HarnessConfig, Map<number, PreludeSetup | null>>();

  get(cfg: HarnessConfig, stateIdx: number, spawned: readonly boolean[], make: () => PreludeSetup | null): PreludeSetup | null {
    let m = this.byCfg.get(cfg);
    if (m === undefined) {
      const names = `${[...cfg.off].sort().join(',')}|${[...cfg.variants].sort().join(',')}`;
      m = this.byNames.get(names) ?? new Map<number, PreludeSetup | null>();
      this.byNames.set(names, m);
      this.byCfg.set(cfg, m);
    }
    // The state index and the spawned slots as bits (harnesses have a handful of slots).
    let key = stateIdx;
    for (const b of spawned) key = key * 2 + (b ? 1 : 0);
    let v = m.get(key);
    if (v === undefined) {
      v = make();
      m.set(key, v);
    }
    return v;
  }
}

