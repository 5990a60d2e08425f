import type { SimThread } from './thread';

/** What lockdep needs to know about a lock. */
export interface LockClass {
  /** Lock class name as the kernel spells it, e.g. `mmu_lock`, `kvm->srcu`. */
  readonly name: string;
  /** spinlock / rwlock spin; mutex / rwsem / srcu sleep. */
  readonly kind: 'spinlock' | 'mutex' | 'rwlock' | 'rwsem' | 'srcu';
}

export type HeldMode = 'read' | 'write' | 'excl' | 'srcu';

export interface HeldLock {
  readonly lock: LockClass;
  readonly mode: HeldMode;
  /** Label of the step that acquired it. */
  readonly label: string;
  /** SRCU read-section token (mode 'srcu' only). */
  readonly token?: number;
}

/** Does `kind` spin (may not sleep while held)? */
export function isSpinning(kind: LockClass['kind']): boolean {
  return kind === 'spinlock' || kind === 'rwlock';
}

/**
 * Lock-dependency validator, per execution: records "held A while acquiring
 * B" edges between lock classes and reports the first edge that closes a
 * cycle, plus held-assertions and sleeping-in-atomic checks. Like the
 * kernel's lockdep it checks an acquisition before the thread blocks on it,
 * so an inversion is reported even when this schedule does not deadlock.
 */
export class Lockdep {
  /** from class -> (to class -> label of the acquisition that first made the edge). */
  private readonly edges = new Map<string, Map<string, string>>();

  constructor(private readonly report: (t: SimThread, site: string, detail: string, message: string) => never) {}

  /** Checks before `t` acquires `lock` in `mode` at `label` (site = `fn`). */
  beforeAcquire(t: SimThread, lock: LockClass, mode: HeldMode, fn: string, label: string): void {
    for (let i = 0; i < t.held.length; i++) {
      const h = t.held[i]!;
      if (h.lock === lock) {
        if (mode === 'read' && h.mode === 'read' && lock.kind === 'rwlock') continue;
        if (mode === 'srcu' && h.mode === 'srcu') continue;
        this.report(t, fn, `recursive locking of ${lock.name}`,
          `${t.name} acquires ${lock.name} (${mode}) at ${label} while already holding it since ${h.label}`);
      }
    }
    if (lock.kind === 'mutex' || lock.kind === 'rwsem') this.mightSleep(t, fn, `acquiring ${lock.name}`);
    // An SRCU read section never blocks: it depends on nothing it is taken under.
    if (mode === 'srcu') return;
    for (let i = 0; i < t.held.length; i++) {
      const h = t.held[i]!;
      if (h.lock === lock) continue;
      if (h.lock.name === lock.name) {
        this.report(t, fn, `possible recursive locking of ${lock.name}`,
          `${t.name} acquires a second ${lock.name} at ${label} while holding one since ${h.label}`);
      }
      this.addEdge(t, h, lock.name, fn, label);
    }
  }

  /**
   * `synchronize_srcu`-style waits: the waiter depends on the SRCU domain
   * (edges from every lock it holds), and waiting inside its own read section
   * is a self-deadlock.
   */
  beforeWait(t: SimThread, domain: LockClass, fn: string, label: string): void {
    for (let i = 0; i < t.held.length; i++) {
      const h = t.held[i]!;
      if (h.lock === domain) {
        this.report(t, fn, `${domain.name} synchronize inside its own read section`,
          `${t.name} waits for ${domain.name} readers at ${label} while it is itself a reader since ${h.label}`);
      }
    }
    this.mightSleep(t, fn, `waiting for ${domain.name}`);
    for (let i = 0; i < t.held.length; i++) this.addEdge(t, t.held[i]!, domain.name, fn, label);
  }

  /** `might_sleep()`: no spinning lock held, not inside an RCU read section. */
  mightSleep(t: SimThread, fn: string, what: string): void {
    const spinning = t.held.filter((h) => isSpinning(h.lock.kind));
    if (spinning.length > 0 || t.rcuDepth > 0) {
      const ctx = [
        ...spinning.map((h) => `${h.lock.name} (taken at ${h.label})`),
        ...(t.rcuDepth > 0 ? ['rcu_read_lock'] : []),
      ].join(', ');
      this.report(t, fn, 'sleeping function called from invalid context',
        `${t.name} may sleep (${what}) while holding ${ctx}`);
    }
  }

  /** `lockdep_assert_held*`. */
  assertHeld(t: SimThread, lock: LockClass, mode: 'read' | 'write' | 'any', fn: string): void {
    for (let i = 0; i < t.held.length; i++) {
      const h = t.held[i]!;
      if (h.lock !== lock) continue;
      if (mode === 'any') return;
      if (mode === 'write' && (h.mode === 'write' || h.mode === 'excl')) return;
      if (mode === 'read' && (h.mode === 'read' || h.mode === 'srcu')) return;
    }
    const how = mode === 'any' ? '' : ` for ${mode}`;
    const holds = t.held.length === 0 ? 'nothing' : t.held.map((h) => `${h.lock.name}(${h.mode})`).join(', ');
    this.report(t, fn, `${lock.name} not held${how}`, `${t.name} in ${fn} must hold ${lock.name}${how}; it holds ${holds}`);
  }

  /** Every recorded edge [from, to, label], in recording order (set-up snapshots). */
  edgeList(): [string, string, string][] {
    const out: [string, string, string][] = [];
    for (const [a, m] of this.edges) for (const [b, label] of m) out.push([a, b, label]);
    return out;
  }

  /** Records edges from edgeList() of another execution, in their order, without checks (they were checked there). */
  addEdges(list: readonly (readonly [string, string, string])[]): void {
    for (const [a, b, label] of list) {
      let out = this.edges.get(a);
      if (out === undefined) {
        out = new Map();
        this.edges.set(a, out);
      }
      out.set(b, label);
    }
  }

  private addEdge(t: SimThread, from: HeldLock, to: string, fn: string, label: string): void {
    const a = from.lock.name;
    let out = this.edges.get(a);
    if (out === undefined) {
      out = new Map();
      this.edges.set(a, out);
    }
    if (out.has(to)) return;
    const back = this.path(to, a);
    if (back !== null) {
      const chain = back.map((e) => `${e.from} -> ${e.to} (at ${e.label})`).join(', ');
      this.report(t, fn, `possible circular locking ${a} -> ${to}`,
        `${t.name} acquires ${to} at ${label} while holding ${a} (taken at ${from.label}); earlier: ${chain}`);
    }
    out.set(to, label);
  }

  /** A path of recorded edges from `src` to `dst`, or null (deterministic DFS). */
  private path(src: string, dst: string): { from: string; to: string; label: string }[] | null {
    const seen = new Set<string>();
    const walk = (n: string): { from: string; to: string; label: string }[] | null => {
      if (n === dst) return [];
      if (seen.has(n)) return null;
      seen.add(n);
      const out = this.edges.get(n);
      if (out === undefined) return null;
      for (const [m, label] of out) {
        const rest = walk(m);
        if (rest !== null) return [{ from: n, to: m, label }, ...rest];
      }
      return null;
    };
    return walk(src);
  }
}
