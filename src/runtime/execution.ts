import type { Blocker, Step } from './blocker';
import type { DecisionLog, DecisionSource } from './decision-source';
import { DecisionSourceError, type Failure, type FailureKind, KernelFailure, ModelError, signatureOf } from './failure';
import { FeatureMap, FeatureSalt, hashString, mixHash } from './features';
import type { KObject } from './kobject';
import { labelFunction } from './labels';
import { Lockdep } from './lockdep';
import { type LastAccessCapture } from './last-access';
import { CLONE, SnapshotRefused } from './snapshot';
import { SimThread, type ThreadBody } from './thread';
import type { TraceEvent } from './trace';

/** Options of one execution, with their defaults in DEFAULT_EXECUTION_OPTIONS. */
export interface ExecutionOptions {
  /** Step bound; exceeding it is a HANG failure. */
  maxSteps: number;
  /** Record a trace (one event per step). Off costs nothing per step. */
  trace: boolean;
  /** Map to collect code and interleaving features into, or null. */
  features: FeatureMap | null;
  /**
   * Like `panic_on_warn`: a WARN ends the execution. When false, WARNs are
   * collected in `Outcome.warnings` and the execution goes on.
   */
  panicOnWarn: boolean;
  /**
   * An INVARIANT failure ends the execution (default). When false, it is
   * collected like a WARN without panic_on_warn and the execution goes on, to
   * see what the broken state leads to.
   */
  fatalInvariants: boolean;
  /**
   * Log the conflicts (see Outcome.conflicts); needs `features`, whose
   * last-access table finds them.
   */
  conflictLog: boolean;
  /**
   * Atomicity features (needs `features`): a thread's two consecutive
   * accesses to one (object, field) with another thread's access between
   * them, in one of the four orders no serial execution of the two threads
   * gives — read/write/read, write/write/read, write/read/write,
   * read/write/write: AVIO's unserializable access interleavings (Lu et
   * al., ASPLOS 2006). A hit is the triple of labels and the order; the
   * other thread's access is the last one before the second (of several
   * between them, the others are not seen).
   */
  atomicity: boolean;
}

/** The most conflicts an execution logs (the first ones; a run has a handful). */
export const MAX_LOGGED_CONFLICTS = 64;

export const DEFAULT_EXECUTION_OPTIONS: Readonly<ExecutionOptions> = {
  maxSteps: 100_000,
  trace: false,
  features: null,
  panicOnWarn: true,
  fatalInvariants: true,
  conflictLog: false,
  atomicity: false,
};

/** What one execution produced. */
export interface Outcome {
  /** The failure that ended the execution, or the first WARN when it went on; null when clean. */
  readonly failure: Failure | null;
  /** Every failure reported (more than one only with panicOnWarn off). */
  readonly warnings: readonly Failure[];
  /**
   * The index after the last step: the steps run, plus the steps of a
   * set-up snapshot the execution started from (see startStep).
   */
  readonly steps: number;
  /**
   * The step the execution started at: 0, or the steps of the set-up
   * snapshot it was restored from (restoreSetup). `steps - startStep` steps
   * were run by this execution.
   */
  readonly startStep: number;
  /** Every real decision, to replay this execution exactly. */
  readonly decisions: DecisionLog;
  /** The step index of each thread pick in `decisions.schedule`. */
  readonly decisionSteps: readonly number[];
  /**
   * With `conflictLog` (empty without): for each thread pick in
   * `decisions.schedule`, the thread that ran the step before (-1: none),
   * plus 0x100 when that step ended in a yield (Blocker.yielding) — what a
   * source that keeps the running thread by default needs to replay a
   * prefix of the picks (Mutator.direct).
   */
  readonly decisionFrom: readonly number[];
  /**
   * With `conflictLog`: the conflicts of the run, four numbers each — the
   * step and thread of an access, then the step and thread of the next
   * access to the same field by another thread, one of them a write (the
   * pairs the conflict features hash). At most MAX_LOGGED_CONFLICTS; empty
   * without the option.
   */
  readonly conflicts: readonly number[];
  /** Thread names by id. */
  readonly threads: readonly string[];
  /** The trace, when requested. */
  readonly trace: readonly TraceEvent[] | null;
}

const NO_CONFLICTS: readonly number[] = [];

type QuiescenceHook = (ex: Execution) => void;

/** What Execution.captureSetup keeps of a set-up (see restoreSetup). */
export interface SetupState {
  readonly step: number;
  readonly nextOid: number;
  readonly onceSeen: readonly string[];
  readonly lockdep: readonly (readonly [string, string, string])[];
  readonly threads: readonly {
    readonly name: string; readonly daemon: boolean; readonly label: string;
    readonly steps: number; readonly rcuSeq: number; readonly contended: boolean; readonly labelHash: number;
  }[];
  readonly lastRun: number;
  readonly lastHash: number;
  readonly features: { readonly slots: Uint32Array; readonly counts: Uint8Array } | null;
  readonly lastAccess: LastAccessCapture | null;
}

/**
 * One execution: a set of simulated threads run step by step under a
 * decision source, from the first step until every non-daemon thread has
 * finished (then daemons drain and the quiescence checks run), or until an
 * oracle fires. Deterministic: the same threads, source decisions and
 * options give the same steps, trace and outcome.
 */
export class Execution {
  readonly opts: ExecutionOptions;
  readonly threads: SimThread[] = [];
  readonly lockdep: Lockdep;
  /** Index of the step being run (or about to run). */
  step = 0;
  /** True while quiescence hooks run. */
  quiescent = false;

  private nextOid = 1;
  private readonly hooks: { name: string; fn: QuiescenceHook }[] = [];
  private readonly schedule: number[] = [];
  private readonly scheduleSteps: number[] = [];
  private readonly scheduleFrom: number[] = [];
  private readonly conflicts: number[] | null;
  /** Atomicity features are collected (ExecutionOptions.atomicity, with features). */
  private readonly atomicity: boolean;
  private readonly choices: number[] = [];
  private readonly warnings: Failure[] = [];
  private readonly onceSeen = new Set<string>();
  private readonly trace: TraceEvent[] | null;
  private readonly features: FeatureMap | null;
  private current: SimThread | null = null;
  private event: TraceEvent | null = null;
  private fatal: Failure | null = null;
  private ran = false;
  /** The thread that ran the last step, and its label's hash then (kept across runSetup and restoreSetup). */
  private lastRun: SimThread | null = null;
  private lastHash = 0;
  private startStep = 0;

  constructor(readonly source: DecisionSource, opts: Partial<ExecutionOptions> = {}) {
    this.opts = { ...DEFAULT_EXECUTION_OPTIONS, ...opts };
    this.trace = this.opts.trace ? [] : null;
    this.features = this.opts.features;
    this.conflicts = this.opts.conflictLog && this.features !== null ? [] : null;
    this.atomicity = this.opts.atomicity && this.features !== null;
    this.features?.lastAccess.clear();
    this.features?.ownAccess.clear();
    this.lockdep = new Lockdep((t, site, detail, message) => this.failIn(t, 'LOCKDEP', site, detail, message));
  }

  /**
   * Creates a thread (ids in spawn order) and runs its body up to its first
   * `yield`: code before a body's first yield runs at spawn time, outside any
   * step, so it must not touch shared state. Its first step is then the one
   * its first yield names.
   */
  spawn(name: string, body: ThreadBody, opts: { daemon?: boolean } = {}): SimThread {
    const t = this.createThread(name, body, opts);
    this.prime(t);
    return t;
  }

  /** Creates a thread without running any of its body (spawn = createThread + prime). */
  createThread(name: string, body: ThreadBody, opts: { daemon?: boolean } = {}): SimThread {
    const t = new SimThread(this, this.threads.length, name, body, opts.daemon === true);
    this.threads.push(t);
    return t;
  }

  /** Runs a created thread's body up to its first `yield` (see spawn). */
  prime(t: SimThread): void {
    if (t.gen !== null) throw new Error(`thread ${t.name} primed twice`);
    const saved = this.current;
    this.current = t;
    t.gen = t.body(t);
    try {
      this.absorb(t, resume(t));
    } catch (e) {
      // An oracle firing before the body's first yield ends the execution
      // at its start (run() returns it); anything else is a model error.
      if (!(e instanceof KernelFailure)) throw e;
      t.done = true;
    }
    this.current = saved;
  }

  /** An execution is copied only as the execution a CopyPlan maps it to. */
  [CLONE](): never {
    throw new SnapshotRefused('a reference to another execution in the state');
  }

  /** Registers an end-of-execution check (run in registration order once every thread is done). */
  onQuiescence(name: string, fn: QuiescenceHook): void {
    this.hooks.push({ name, fn });
  }

  newObjectId(): number {
    return this.nextOid++;
  }

  /** True when a trace is being recorded (model code may skip building notes otherwise). */
  get tracing(): boolean {
    return this.trace !== null;
  }

  /** The thread running the current step (null at quiescence). */
  get running(): SimThread | null {
    return this.current;
  }

  /** Runs the execution to its outcome. May be called once. */
  run(): Outcome {
    if (this.ran) throw new Error('Execution.run() called twice');
    this.ran = true;
    this.source.beginExecution({ threads: this.threads.length });
    try {
      if (this.fatal === null) this.loop(null);
      if (this.fatal === null) this.quiesce();
    } catch (e) {
      if (!(e instanceof KernelFailure)) throw e;
    }
    const failure = this.fatal ?? (this.warnings.length > 0 ? this.warnings[0]! : null);
    return {
      failure,
      warnings: this.warnings,
      steps: this.step,
      startStep: this.startStep,
      decisions: { schedule: this.schedule, choices: this.choices },
      decisionSteps: this.scheduleSteps,
      decisionFrom: this.scheduleFrom,
      conflicts: this.conflicts ?? NO_CONFLICTS,
      threads: this.threads.map((t) => t.name),
      trace: this.trace,
    };
  }

  /**
   * Runs a harness's set-up (its serial prelude) in a template execution:
   * steps until `done()` holds before a step. Returns false when the set-up
   * failed (an oracle fired). The template is then captured (captureSetup)
   * and never run further.
   */
  runSetup(done: () => boolean): boolean {
    if (this.ran) throw new Error('Execution.runSetup() after run()');
    this.ran = true;
    this.source.beginExecution({ threads: this.threads.length });
    try {
      if (this.fatal === null) this.loop(done);
    } catch (e) {
      if (!(e instanceof KernelFailure)) throw e;
    }
    return this.fatal === null && this.warnings.length === 0;
  }

  /**
   * The execution-level state a set-up left (after runSetup): step and
   * object-id counters, WARN_ONCE keys, lockdep's edges, each thread's
   * bookkeeping, the last thread run, and the features and last accesses
   * it recorded. Refused when the set-up depended on anything but its
   * program — a scheduling decision or a model choice — or left a thread
   * finished, holding a lock or inside an RCU read section.
   */
  captureSetup(): SetupState {
    if (this.trace !== null) throw new SnapshotRefused('the set-up was traced');
    if (this.fatal !== null || this.warnings.length > 0) throw new SnapshotRefused('the set-up failed');
    if (this.schedule.length > 0 || this.choices.length > 0) throw new SnapshotRefused('the set-up made a scheduling decision or a model choice');
    for (const t of this.threads) {
      if (t.done || t.held.length > 0 || t.rcuDepth > 0) throw new SnapshotRefused(`${t.name} finished, holds a lock or is in an RCU read section after the set-up`);
    }
    const fm = this.features;
    return {
      step: this.step,
      nextOid: this.nextOid,
      onceSeen: [...this.onceSeen],
      lockdep: this.lockdep.edgeList(),
      threads: this.threads.map((t) => ({ name: t.name, daemon: t.daemon, label: t.label, steps: t.steps, rcuSeq: t.rcuSeq, contended: t.contended, labelHash: t.labelHash })),
      lastRun: this.lastRun === null ? -1 : this.lastRun.id,
      lastHash: this.lastHash,
      features: fm === null ? null : { slots: fm.touched().slice(), counts: Uint8Array.from(fm.touched(), (i) => fm.hits[i]!) },
      lastAccess: fm === null ? null : fm.lastAccess.capture(),
    };
  }

  /**
   * Puts this new execution where a captured set-up left its template: its
   * threads must be created (createThread) in the template's order, its
   * model state copied (CopyPlan), and its threads primed after this call
   * to the labels they had (checkRestored).
   */
  restoreSetup(s: SetupState): void {
    if (this.ran || this.step !== 0) throw new Error('Execution.restoreSetup() on a started execution');
    if (this.threads.length !== s.threads.length) throw new Error(`restoreSetup: ${this.threads.length} threads, the set-up had ${s.threads.length}`);
    this.step = s.step;
    this.startStep = s.step;
    this.nextOid = s.nextOid;
    for (const k of s.onceSeen) this.onceSeen.add(k);
    this.lockdep.addEdges(s.lockdep);
    s.threads.forEach((x, i) => {
      const t = this.threads[i]!;
      if (t.name !== x.name || t.daemon !== x.daemon) throw new Error(`restoreSetup: thread ${i} is ${t.name}, the set-up had ${x.name}`);
      t.steps = x.steps;
      t.rcuSeq = x.rcuSeq;
      t.contended = x.contended;
      t.labelHash = x.labelHash;
    });
    this.lastRun = s.lastRun < 0 ? null : this.threads[s.lastRun]!;
    this.lastHash = s.lastHash;
    const fm = this.features;
    if (fm !== null && s.features !== null && s.lastAccess !== null) {
      const { slots, counts } = s.features;
      for (let k = 0; k < slots.length; k++) fm.hitSlot(slots[k]!, counts[k]!);
      fm.lastAccess.restore(s.lastAccess);
    }
  }

  /** After priming restored threads: each must stand where the template's did. */
  checkRestored(s: SetupState): void {
    s.threads.forEach((x, i) => {
      const t = this.threads[i]!;
      if (t.label !== x.label || t.done) throw new Error(`restoreSetup: ${t.name} primed at ${t.label}, the set-up left it at ${x.label}`);
    });
  }

  private loop(stop: (() => boolean) | null): void {
    const threads = this.threads;
    const runnable: number[] = [];
    const features = this.features;
    const source = this.source;
    const maxSteps = this.opts.maxSteps;
    const observe = source.observeForced !== undefined;
    let last = this.lastRun;
    let lastHash = this.lastHash;
    for (;;) {
      if (stop !== null && stop()) {
        this.lastRun = last;
        this.lastHash = lastHash;
        return;
      }
      let count = 0;
      let live = 0;
      let daemons = 0;
      for (let i = 0; i < threads.length; i++) {
        const th = threads[i]!;
        if (th.done) continue;
        if (!th.daemon) live++;
        const b = th.blocker;
        if (b === null || b.ready()) {
          runnable[count++] = i;
          if (th.daemon) daemons++;
        } else if (features !== null && !th.contended) {
          th.contended = true;
          features.hit(mixHash(FeatureSalt.Contention, hashString(b.label)));
        }
      }
      if (count === 0) {
        if (live === 0) return;
        this.deadlock();
      }
      // Every non-daemon thread is done: let runnable daemons (the RCU actor) drain, then stop.
      if (live === 0 && daemons === 0) return;
      if (this.step >= maxSteps) this.hang();
      let pick: number;
      if (count === 1) {
        pick = runnable[0]!;
        if (observe) source.observeForced!(pick, this.step);
      } else {
        const yielding = last !== null && last.blocker !== null && last.blocker.yielding === true;
        pick = source.nextThread(runnable, count, last === null ? -1 : last.id, this.step, yielding);
        if (!isRunnable(runnable, count, pick)) {
          throw new ModelError(`decision source '${source.name}' picked thread ${pick}, which is not runnable`, this.step, '');
        }
        this.schedule.push(pick);
        this.scheduleSteps.push(this.step);
        if (this.conflicts !== null) this.scheduleFrom.push(last === null ? -1 : yielding ? last.id | 0x100 : last.id);
      }
      const th = threads[pick]!;
      if (features !== null) {
        const h = hashString(th.label);
        th.labelHash = h;
        features.hit(mixHash(FeatureSalt.Code, h));
        if (last !== null && last !== th) features.hitSwitch(mixHash(FeatureSalt.Switch ^ lastHash, h));
        lastHash = h;
        th.contended = false;
      }
      this.runStep(th);
      last = th;
    }
  }

  private runStep(th: SimThread): void {
    this.current = th;
    if (this.trace !== null) {
      this.event = { step: this.step, thread: th.id, label: th.label, detail: '', locks: '' };
      this.trace.push(this.event);
    }
    th.blocker = null;
    let r: IteratorResult<string | Blocker, void>;
    try {
      r = resume(th);
    } catch (e) {
      if (e instanceof KernelFailure) {
        this.finishEvent(th);
        throw e;
      }
      if (e instanceof DecisionSourceError) throw e;
      const msg = e instanceof Error ? e.stack ?? e.message : String(e);
      throw new ModelError(`model error in ${th.name} at step ${this.step} (${th.label}): ${msg}`, this.step, th.name, e);
    }
    th.steps++;
    this.absorb(th, r);
    this.finishEvent(th);
    this.step++;
  }

  /** Takes what a thread's generator returned: its next label and blocker, or its end. */
  private absorb(th: SimThread, r: IteratorResult<string | Blocker, void>): void {
    if (r.done === true) {
      th.done = true;
      if (th.held.length > 0) {
        this.failIn(th, 'LOCKDEP', labelFunction(th.label), 'lock held when thread exits',
          `${th.name} finished while holding ${th.heldSummary()}`);
      }
      if (th.rcuDepth > 0) {
        this.failIn(th, 'LOCKDEP', labelFunction(th.label), 'rcu_read_lock held when thread exits',
          `${th.name} finished inside an RCU read section`);
      }
    } else {
      const y = r.value;
      if (typeof y === 'string') {
        th.label = y;
      } else {
        th.label = y.label;
        th.blocker = y;
      }
    }
  }

  private finishEvent(th: SimThread): void {
    if (this.event !== null) {
      this.event.locks = th.heldSummary();
      this.event = null;
    }
  }

  private quiesce(): void {
    this.current = null;
    this.quiescent = true;
    for (const h of this.hooks) h.fn(this);
  }

  // ---- services for threads and model code ----------------------------

  /** A nondeterministic choice, asked of the source only when n >= 2, and recorded. */
  choose(t: SimThread | null, n: number, what: string): number {
    if (n <= 1) return 0;
    const v = this.source.nextChoice(n, what);
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new ModelError(`decision source '${this.source.name}' chose ${v} outside [0, ${n}) for ${what}`, this.step, t?.name ?? '');
    }
    this.choices.push(v);
    if (this.features !== null) this.features.hit(mixHash(FeatureSalt.Choice ^ hashString(what), v));
    if (this.event !== null) this.note(`${what}=${v}`);
    return v;
  }

  /** Appends to the current trace line. */
  note(text: string): void {
    const e = this.event;
    if (e !== null) e.detail = e.detail === '' ? text : `${e.detail}; ${text}`;
  }

  /** Records a field access for the trace and the conflict features. */
  access(t: SimThread, o: KObject, field: string, write: boolean, value: unknown, arrow: string): void {
    if (this.event !== null) this.note(`${o.name}.${field} ${arrow} ${o.showField(field, value) ?? showValue(value)}`);
    if (this.features !== null) this.conflict(t, o, hashString(field), write);
  }

  /** Records an access to element `i` of an array field. */
  accessAt(t: SimThread, o: KObject, field: string, i: number, write: boolean, value: unknown, arrow: string): void {
    if (this.event !== null) {
      const f = `${field}[${i}]`;
      this.note(`${o.name}.${f} ${arrow} ${o.showField(f, value) ?? showValue(value)}`);
    }
    if (this.features !== null) this.conflict(t, o, (hashString(field) + Math.imul(i + 1, 0x9e3779b1)) | 0, write);
  }

  /**
   * Conflict features: an access to the same (object, field) as the last one,
   * by another thread, with at least one of them a write, hits the feature
   * (previous label, this label).
   */
  private conflict(t: SimThread, o: KObject, key: number, write: boolean): void {
    const features = this.features!;
    const h = t.labelHash;
    // Packed: label hash (high bits) | thread id (7 bits) | write bit.
    const packed = ((h & ~0xff) | ((t.id & 0x7f) << 1) | (write ? 1 : 0)) >>> 0;
    const table = features.lastAccess;
    const prev = table.exchange(o.oid, key, packed, this.step);
    if (prev !== -1) {
      const ptid = (prev >>> 1) & 0x7f;
      const pw = (prev & 1) === 1;
      if (ptid !== (t.id & 0x7f) && (pw || write)) {
        features.hit(mixHash(FeatureSalt.Conflict ^ (prev & ~0xff), h));
        const log = this.conflicts;
        if (log !== null && log.length < 4 * MAX_LOGGED_CONFLICTS) log.push(table.prevStep, ptid, this.step, t.id);
      }
    }
    if (this.atomicity) this.atomicityFeature(t, o, key, packed, prev, write);
  }

  /**
   * Atomicity features (ExecutionOptions.atomicity): `t`'s previous access
   * to the field, the last access (`prev`) when another thread made it,
   * and this one, in an unserializable order: the middle one a write
   * (unless all three are), or a read between two writes.
   */
  private atomicityFeature(t: SimThread, o: KObject, key: number, packed: number, prev: number, write: boolean): void {
    const features = this.features!;
    const tid = t.id & 0x7f;
    const first = features.ownAccess.exchange((o.oid << 7) | tid, key, packed, this.step);
    if (first === -1 || prev === -1 || ((prev >>> 1) & 0x7f) === tid) return;
    const fw = (first & 1) === 1;
    const pw = (prev & 1) === 1;
    if (pw ? fw && write : !(fw && write)) return;
    const order = (fw ? 4 : 0) | (pw ? 2 : 0) | (write ? 1 : 0);
    features.hit(mixHash(FeatureSalt.Atomicity ^ (first & ~0xff) ^ Math.imul(prev & ~0xff, 0x9e3779b1), (packed & ~0xff) | order));
  }

  /** Publishes a model-defined feature (e.g. "root visited after invalidation"). */
  feature(key: string, value = 0): void {
    if (this.features !== null) this.features.hit(mixHash(FeatureSalt.Custom ^ hashString(key), value));
  }

  /** Reports a use-after-free of `o` by `t` (`what` = the operation). */
  useAfterFree(t: SimThread, o: KObject, what: string): never {
    const freeFn = labelFunction(o.freedBy ?? '?');
    return this.failIn(t, 'UAF', t.fn, `${o.kind} freed by ${freeFn}`,
      `${t.name} does ${what} on ${o.name} at ${t.label} (step ${this.step}); it was freed at ${o.freedBy} by ${o.freedThread} (step ${o.freedStep})`);
  }

  /** WARN (or WARN_ONCE): ends the execution under panicOnWarn, else is collected. */
  warn(t: SimThread | null, site: string, detail: string, message: string | (() => string), once: boolean,
    kind: 'WARN' | 'REFCOUNT' = 'WARN'): void {
    if (once) {
      const key = `${site}\u0000${detail}`;
      if (this.onceSeen.has(key)) return;
      this.onceSeen.add(key);
    }
    const f = this.makeFailure(kind, site, detail, typeof message === 'string' ? message : message(), t);
    this.warnings.push(f);
    this.note(`WARN: ${signatureOf(f)}`);
    if (this.opts.panicOnWarn) {
      this.fatal = f;
      throw new KernelFailure(f);
    }
  }

  /** A semantic invariant that does not hold: fatal unless `fatalInvariants` is off. */
  invariantFailed(t: SimThread | null, name: string, detail: string, message: string): void {
    if (this.opts.fatalInvariants) this.failIn(t, 'INVARIANT', name, detail, message);
    const key = `${name}\u0000${detail}`;
    if (this.onceSeen.has(key)) return;
    this.onceSeen.add(key);
    const f = this.makeFailure('INVARIANT', name, detail, message, t);
    this.warnings.push(f);
    this.note(`INVARIANT: ${signatureOf(f)}`);
  }

  /** A fatal failure in the running thread (or at quiescence). */
  fail(kind: FailureKind, site: string, detail: string, message: string): never {
    return this.failIn(this.current, kind, site, detail, message);
  }

  private failIn(t: SimThread | null, kind: FailureKind, site: string, detail: string, message: string): never {
    if (kind === 'WARN') {
      // Reported (and noted) by warn(); when not panicking on warnings, a
      // WARN from a path that cannot continue still ends the execution.
      this.warn(t, site, detail, message, false);
      const w = this.warnings[this.warnings.length - 1]!;
      this.fatal = w;
      throw new KernelFailure(w);
    }
    const f = this.makeFailure(kind, site, detail, message, t);
    this.warnings.push(f);
    this.fatal = f;
    this.note(`${kind}: ${signatureOf(f)}`);
    throw new KernelFailure(f);
  }

  private makeFailure(kind: FailureKind, site: string, detail: string, message: string, t: SimThread | null): Failure {
    return { kind, site, detail, message, step: this.quiescent ? -1 : this.step, thread: t?.name ?? '' };
  }

  private deadlock(): never {
    const blocked = this.threads.filter((t) => !t.done && !t.daemon);
    const sites = [...new Set(blocked.map((t) => labelFunction(t.label)))].sort();
    const locks = [...new Set(blocked.map((t) => t.blocker?.waitsFor ?? '?'))].sort();
    const who = blocked.map((t) => `${t.name} waits at ${t.label} holding [${t.heldSummary()}]`).join('; ');
    this.current = null;
    return this.failIn(null, 'DEADLOCK', sites.join(' / '), `waiting for ${locks.join(', ')}`, `no thread can run: ${who}`);
  }

  private hang(): never {
    let top: SimThread | null = null;
    for (const t of this.threads) if (!t.done && (top === null || t.steps > top.steps)) top = t;
    const site = top === null ? 'scheduler' : labelFunction(top.label);
    this.current = null;
    return this.failIn(top, 'HANG', site, 'step bound exceeded',
      `${this.opts.maxSteps} steps run without finishing; ${top?.name ?? '?'} has run ${top?.steps ?? 0} steps and is at ${top?.label ?? '?'}`);
  }
}

function isRunnable(runnable: readonly number[], count: number, id: number): boolean {
  for (let i = 0; i < count; i++) if (runnable[i] === id) return true;
  return false;
}

/** Short printable form of a field value for traces. */
export function showValue(v: unknown): string {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (v === null) return 'NULL';
  if (typeof v === 'object') {
    const name = (v as { name?: unknown }).name;
    if (typeof name === 'string') return name;
    if (Array.isArray(v)) return `[${v.length}]`;
    return '{…}';
  }
  return String(v);
}

export type { Blocker };

/**
 * Runs thread `th` to its next yield point: resumes its running generator,
 * entering the generators it hands over through call() and returning from
 * them into their callers, within the one step. Done only when the body is.
 */
function resume(th: SimThread): IteratorResult<string | Blocker, void> {
  let g = th.gen!;
  let v: unknown = undefined;
  for (;;) {
    const r = g.next(v as void);
    if (r.done === true) {
      if (th.callers.length === 0) return r as IteratorReturnResult<void>;
      g = th.callers.pop()!;
      th.gen = g;
      v = r.value;
      continue;
    }
    const y = r.value;
    if (typeof y === 'string' || typeof (y as Blocker).ready === 'function') return r as IteratorYieldResult<string | Blocker>;
    th.callers.push(g);
    g = y as Step<unknown>;
    th.gen = g;
    v = undefined;
  }
}
