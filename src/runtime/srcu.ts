import type { Step } from './blocker';
import { callLabel, memberLabel, SiteLabels } from './label-memo';
import type { Execution } from './execution';
import type { LockClass } from './lockdep';
import type { SimThread } from './thread';

const siteLabels = new SiteLabels((fn, name) => ({
  readLock: memberLabel(fn, name, 'srcu_read_lock'),
  readUnlock: memberLabel(fn, name, 'srcu_read_unlock'),
}));

/**
 * Sleepable RCU domain (e.g. `kvm->srcu`). `srcu_read_lock` returns a token
 * that `srcu_read_unlock` gives back; `synchronize_srcu` (and its expedited
 * form, the same here) blocks until every read section that began before it
 * was called has ended — and not for sections that began after.
 *
 * For lockdep the domain is a lock class: locks taken inside a read section
 * depend on it, and a thread that synchronizes while holding a lock makes
 * the domain depend on that lock, so "holds L across synchronize_srcu" plus
 * "takes L inside a read section" is reported as a cycle.
 */
export class Srcu implements LockClass {
  readonly kind = 'srcu' as const;
  /** Active read sections: token -> reader. */
  private readonly active = new Map<number, SimThread>();
  private nextToken = 1;

  constructor(readonly ex: Execution, readonly name: string) {}

  /** Read sections currently open. */
  get readers(): number {
    return this.active.size;
  }

  /** `srcu_read_lock`: a step; returns the token. */
  *readLock(t: SimThread, fn: string): Step<number> {
    const l = siteLabels.get(this.name, fn).readLock;
    this.ex.lockdep.beforeAcquire(t, this, 'srcu', fn, l);
    yield l;
    const token = this.nextToken++;
    this.active.set(token, t);
    t.held.push({ lock: this, mode: 'srcu', label: l, token });
    if (t.ex.tracing) t.note(`srcu idx ${token}`);
    return token;
  }

  /** `srcu_read_unlock`: a step. */
  *readUnlock(t: SimThread, token: number, fn: string): Step {
    yield siteLabels.get(this.name, fn).readUnlock;
    const owner = this.active.get(token);
    const i = t.held.findIndex((h) => h.lock === this && h.token === token);
    if (owner !== t || i < 0) {
      this.ex.fail('LOCKDEP', fn, `bad srcu_read_unlock on ${this.name}`,
        `${t.name} unlocks ${this.name} token ${token} at ${t.label}, which it does not hold`);
    }
    this.active.delete(token);
    t.held.splice(i, 1);
  }

  /** `synchronize_srcu` / `synchronize_srcu_expedited`. */
  *synchronize(t: SimThread, fn: string, expedited = true): Step {
    const l = callLabel(fn, expedited ? 'synchronize_srcu_expedited' : 'synchronize_srcu', this.name);
    this.ex.lockdep.beforeWait(t, this, fn, l);
    const waitFor = [...this.active.keys()];
    yield {
      label: l,
      waitsFor: `${this.name} readers`,
      ready: () => {
        for (let i = 0; i < waitFor.length; i++) if (this.active.has(waitFor[i]!)) return false;
        return true;
      },
    };
  }
}
