import type { Blocker, Step } from './blocker';
import type { Execution } from './execution';
import { memberLabel, SiteLabels } from './label-memo';
import type { LockClass } from './lockdep';
import { CLONE, type CopyRecipe } from './snapshot';
import type { SimThread } from './thread';

/** The labels of one lock at one call site. */
interface LockSiteLabels {
  readonly lock: string;
  readonly unlock: string;
}

const siteLabels = new SiteLabels<LockSiteLabels>((fn, name) => ({
  lock: memberLabel(fn, name, 'lock'),
  unlock: memberLabel(fn, name, 'unlock'),
}));

/** An acquisition of one Lock at one site: ready when the lock is free. Carries the site's unlock label too. */
class Acquire implements Blocker {
  readonly waitsFor: string;
  constructor(readonly lock: Lock, readonly label: string, readonly unlockLabel: string) {
    this.waitsFor = lock.name;
  }

  ready(): boolean {
    return this.lock.owner === null;
  }
}

/**
 * An exclusive lock: `spinlock` (may not sleep while held) or `mutex`
 * (acquiring it may sleep). Both block the same way in the model; only the
 * lockdep rules differ. Labels are `fn:name.lock` / `fn:name.unlock`.
 */
export class Lock implements LockClass {
  /** Holder, or null when free. */
  owner: SimThread | null = null;
  private readonly sites = new Map<string, Acquire>();

  /**
   * `outer`: a lock that must be held (in any mode) whenever this one is
   * taken (e.g. tdp_mmu_pages_lock nests inside mmu_lock); lockdep reports
   * an acquisition without it.
   */
  constructor(readonly ex: Execution, readonly name: string, readonly kind: 'spinlock' | 'mutex', readonly outer: LockClass | null = null) {}

  /** A copy for a set-up snapshot: the same holder and outer lock (copied), fresh blockers (theirs point to this lock). */
  [CLONE](): CopyRecipe {
    // Not `this`: a plan keeps its recipes, and this lock would keep the template's execution alive.
    const { name, kind } = this;
    return { make: (ex) => new Lock(ex, name, kind, null), fields: ['outer', 'owner'] };
  }

  /** The site `fn`: its acquisition's blocker, which carries the unlock label too; made on the execution's first use of the site. */
  private site(fn: string): Acquire {
    let b = this.sites.get(fn);
    if (b === undefined) {
      const l = siteLabels.get(this.name, fn);
      this.sites.set(fn, (b = new Acquire(this, l.lock, l.unlock)));
    }
    return b;
  }

  /** `spin_lock` / `mutex_lock`. */
  *lock(t: SimThread, fn: string): Step {
    const b = this.site(fn);
    if (this.outer !== null && !t.holds(this.outer)) {
      this.ex.fail('LOCKDEP', fn, `${this.name} taken without ${this.outer.name}`,
        `${t.name} takes ${this.name} at ${b.label}, which nests inside ${this.outer.name}, without holding ${this.outer.name}`);
    }
    this.ex.lockdep.beforeAcquire(t, this, 'excl', fn, b.label);
    yield b;
    this.owner = t;
    t.held.push({ lock: this, mode: 'excl', label: b.label });
  }

  /** `spin_unlock` / `mutex_unlock`. */
  *unlock(t: SimThread, fn: string): Step {
    yield this.site(fn).unlockLabel;
    const i = t.held.findIndex((h) => h.lock === this);
    if (i < 0 || this.owner !== t) {
      this.ex.fail('LOCKDEP', fn, `bad unlock balance on ${this.name}`,
        `${t.name} releases ${this.name} at ${t.label} without holding it`);
    }
    t.held.splice(i, 1);
    this.owner = null;
  }

  /** Free at this moment? (for model claims such as "no contention under the write lock"). */
  get isFree(): boolean {
    return this.owner === null;
  }
}
