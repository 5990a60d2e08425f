import type { Blocker, Step, Yielded } from './blocker';
import type { Execution } from './execution';
import type { HeldLock } from './lockdep';
import type { KObject } from './kobject';
import { labelFunction } from './labels';
import { CLONE, SnapshotRefused } from './snapshot';

/** A body of a simulated thread: a generator that yields at every preemption point. */
export type ThreadBody = (t: SimThread) => Step<void>;

/**
 * A simulated kernel thread (a vCPU, the VMM's ioctl thread, the MMU
 * notifier, the RCU actor) and the context model code runs in. Model code
 * touches shared state only through this context — `load`, `store`, the
 * atomics, `free`, `deref` — right after a labelled `yield`, so that every
 * access is one step, use-after-free and NULL are caught at that step, and
 * the trace and interleaving features see it.
 */
export class SimThread {
  /** The generator running now: the body's, or a call()'s; null before the thread is primed. */
  gen: Step<unknown> | null = null;
  /** The generators suspended in call(), outermost first (the body's at the bottom). */
  readonly callers: Step<unknown>[] = [];
  /** Label of the step this thread will run next (what it last yielded). */
  label: string;
  /** Non-null while the next step must wait for a lock or a grace period. */
  blocker: Blocker | null = null;
  done = false;
  /** Locks held, in acquisition order (lockdep). */
  readonly held: HeldLock[] = [];
  /** RCU read-side nesting depth, and the count of outermost sections entered. */
  rcuDepth = 0;
  rcuSeq = 0;
  /** Steps this thread has run. */
  steps = 0;
  /** Feature bookkeeping: set while the thread waits on a blocker that was not ready. */
  contended = false;
  /** Hash of `label`, kept current when features are collected. */
  labelHash = 0;

  constructor(
    readonly ex: Execution,
    readonly id: number,
    readonly name: string,
    readonly body: ThreadBody,
    readonly daemon: boolean,
  ) {
    this.label = `${name}:start`;
  }

  /** A thread is copied only as the thread a CopyPlan maps it to. */
  [CLONE](): never {
    throw new SnapshotRefused(`a reference to thread ${this.name} in the state`);
  }

  /** Kernel function of the step being run (the site for oracles). */
  get fn(): string {
    return labelFunction(this.label);
  }

  // ---- memory: one access per step -------------------------------------

  /** Plain load of `o.f` (READ_ONCE or a C load). */
  load<O extends KObject, K extends keyof O & string>(o: O, f: K): O[K] {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `load ${f}`);
    const v = o[f];
    this.ex.access(this, o, f, false, v, '→');
    return v;
  }

  /** Plain store to `o.f` (WRITE_ONCE or a C store). */
  store<O extends KObject, K extends keyof O & string>(o: O, f: K, v: O[K]): void {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `store ${f}`);
    o[f] = v;
    this.ex.access(this, o, f, true, v, '←');
  }

  /** Plain load of element `i` of the array field `o.f`. */
  loadAt<O extends KObject, K extends keyof O & string>(o: O, f: K, i: number): ElementOf<O[K]> {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `load ${f}[${i}]`);
    const v = (o[f] as unknown as ElementOf<O[K]>[])[i]!;
    this.ex.accessAt(this, o, f, i, false, v, '→');
    return v;
  }

  /** Plain store to element `i` of the array field `o.f`. */
  storeAt<O extends KObject, K extends keyof O & string>(o: O, f: K, i: number, v: ElementOf<O[K]>): void {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `store ${f}[${i}]`);
    (o[f] as unknown as ElementOf<O[K]>[])[i] = v;
    this.ex.accessAt(this, o, f, i, true, v, '←');
  }

  /** Atomic compare-and-exchange of `o.f`; returns the value found (the swap happened iff it equals `old`). */
  cmpxchg<O extends KObject, K extends keyof O & string>(o: O, f: K, old: O[K], v: O[K]): O[K] {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `cmpxchg ${f}`);
    const cur = o[f];
    if (cur === old) o[f] = v;
    this.ex.access(this, o, f, true, cur === old ? v : cur, cur === old ? '⇐' : '≠');
    return cur;
  }

  /** Atomic compare-and-exchange of element `i` of `o.f`. */
  cmpxchgAt<O extends KObject, K extends keyof O & string>(o: O, f: K, i: number, old: ElementOf<O[K]>, v: ElementOf<O[K]>): ElementOf<O[K]> {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `cmpxchg ${f}[${i}]`);
    const arr = o[f] as unknown as ElementOf<O[K]>[];
    const cur = arr[i]!;
    if (cur === old) arr[i] = v;
    this.ex.accessAt(this, o, f, i, true, cur === old ? v : cur, cur === old ? '⇐' : '≠');
    return cur;
  }

  /** Atomic exchange of `o.f`; returns the old value. */
  xchg<O extends KObject, K extends keyof O & string>(o: O, f: K, v: O[K]): O[K] {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `xchg ${f}`);
    const cur = o[f];
    o[f] = v;
    this.ex.access(this, o, f, true, v, '⇐');
    return cur;
  }

  /** Atomic exchange of element `i` of `o.f`; returns the old value. */
  xchgAt<O extends KObject, K extends keyof O & string>(o: O, f: K, i: number, v: ElementOf<O[K]>): ElementOf<O[K]> {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `xchg ${f}[${i}]`);
    const arr = o[f] as unknown as ElementOf<O[K]>[];
    const cur = arr[i]!;
    arr[i] = v;
    this.ex.accessAt(this, o, f, i, true, v, '⇐');
    return cur;
  }

  /** Atomic add on a numeric field (`atomic_add_return`); returns the new value. */
  atomicAdd<O extends KObject, K extends NumericKeys<O>>(o: O, f: K, d: number): number {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, `atomic_add ${f}`);
    const v = (o[f] as unknown as number) + d;
    (o as Record<K, unknown>)[f] = v;
    this.ex.access(this, o, f, true, v, '⇐');
    return v;
  }

  /** A non-memory use of a possibly freed object (e.g. a list operation on it). */
  touch(o: KObject, what: string): void {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, what);
  }

  /** Free (poison) `o` now; a second free is a double free. */
  free(o: KObject): void {
    if (o.freedBy !== null) this.ex.useAfterFree(this, o, 'free (double free)');
    o.freedBy = this.label;
    o.freedStep = this.ex.step;
    o.freedThread = this.name;
    if (this.ex.tracing) this.ex.note(`free ${o.name}`);
  }

  /**
   * Dereference a pointer that may be NULL: a NULL pointer is a `NULL`
   * failure here. `what` names the pointer in the signature (keep it free of
   * run-dependent values); `context` adds those to the message.
   */
  deref<T>(p: T | null | undefined, what: string, context = ''): T {
    if (p === null || p === undefined) {
      this.ex.fail('NULL', this.fn, `NULL pointer dereference of ${what}`,
        `${this.name} dereferences ${what} == NULL at ${this.label}${context === '' ? '' : ` (${context})`}`);
    }
    return p;
  }

  // ---- nondeterminism, notes, oracles ---------------------------------

  /** A nondeterministic model choice in [0, n) (e.g. whether a reschedule is wanted). */
  choose(n: number, what: string): number {
    return this.ex.choose(this, n, what);
  }

  /**
   * Append `text` to the current step's trace line. Dropped when tracing is
   * off, but its argument is still built: guard a text built at run time
   * with `t.ex.tracing`, or it costs a string (and any map or join) on
   * every call of every execution.
   */
  note(text: string): void {
    this.ex.note(text);
  }

  /** `WARN_ON(cond)`: returns cond, like the kernel macro. */
  warnOn(cond: boolean, site: string, detail: string, message: string | (() => string)): boolean {
    if (cond) this.ex.warn(this, site, detail, message, false);
    return cond;
  }

  /** `WARN_ON_ONCE(cond)`: reported once per site and detail per execution. */
  warnOnOnce(cond: boolean, site: string, detail: string, message: string | (() => string)): boolean {
    if (cond) this.ex.warn(this, site, detail, message, true);
    return cond;
  }

  /** `BUG_ON(cond)`: always ends the execution. */
  bugOn(cond: boolean, site: string, detail: string, message: string | (() => string)): void {
    if (cond) this.ex.fail('BUG', site, detail, typeof message === 'string' ? message : message());
  }

  /** A semantic invariant checked at this step. */
  invariant(cond: boolean, name: string, detail: string, message: string | (() => string)): void {
    if (!cond) this.ex.invariantFailed(this, name, detail, typeof message === 'string' ? message : message());
  }

  /** `lockdep_assert_held*` on a lock or SRCU domain. */
  assertHeld(lock: { name: string; kind: HeldLock['lock']['kind'] }, mode: 'read' | 'write' | 'any', fn = this.fn): void {
    this.ex.lockdep.assertHeld(this, lock, mode, fn);
  }

  /** `might_sleep()`. */
  mightSleep(fn = this.fn, what = 'might_sleep'): void {
    this.ex.lockdep.mightSleep(this, fn, what);
  }

  // ---- RCU read side (no preemption point of its own) -----------------

  rcuReadLock(): void {
    if (this.rcuDepth++ === 0) this.rcuSeq++;
  }

  rcuReadUnlock(): void {
    if (this.rcuDepth === 0) {
      this.ex.fail('LOCKDEP', this.fn, 'rcu_read_unlock without rcu_read_lock',
        `${this.name} calls rcu_read_unlock at ${this.label} outside any RCU read section`);
    }
    this.rcuDepth--;
  }

  /** Holds `lock` (in any mode)? */
  holds(lock: object): boolean {
    for (let i = 0; i < this.held.length; i++) if (this.held[i]!.lock === lock) return true;
    return false;
  }

  /** Held locks as shown in traces, e.g. `mmu_lock(R) tdp_mmu_pages_lock`. */
  heldSummary(): string {
    let s = '';
    for (let i = 0; i < this.held.length; i++) {
      const h = this.held[i]!;
      const m = h.mode === 'read' ? '(R)' : h.mode === 'write' ? '(W)' : h.mode === 'srcu' ? '(srcu)' : '';
      s += (s === '' ? '' : ' ') + h.lock.name + m;
    }
    if (this.rcuDepth > 0) s += (s === '' ? '' : ' ') + 'rcu';
    return s;
  }
}

type ElementOf<A> = A extends Float64Array | Int32Array | Uint32Array | Uint8Array ? number : A extends readonly (infer E)[] ? E : never;
type NumericKeys<O> = { [K in keyof O & string]: O[K] extends number ? K : never }[keyof O & string];

export type { Yielded };
