import type { Blocker, Step } from './blocker';
import type { Execution } from './execution';
import { memberLabel, SiteLabels } from './label-memo';
import type { LockClass } from './lockdep';
import { CLONE, type CopyRecipe } from './snapshot';
import type { SimThread } from './thread';

/** The labels of one lock at one call site. */
interface RwSiteLabels {
  readonly readLock: string;
  readonly writeLock: string;
  readonly readUnlock: string;
  readonly writeUnlock: string;
}

const siteLabels = new SiteLabels<RwSiteLabels>((fn, name) => ({
  readLock: memberLabel(fn, name, 'read_lock'),
  writeLock: memberLabel(fn, name, 'write_lock'),
  readUnlock: memberLabel(fn, name, 'read_unlock'),
  writeUnlock: memberLabel(fn, name, 'write_unlock'),
}));

/** An acquisition of one RwLock at one site: ready when the lock is free in that mode. */
class Acquire implements Blocker {
  readonly waitsFor: string;
  constructor(readonly lock: RwLock, readonly label: string, readonly write: boolean, readonly yielding: boolean) {
    this.waitsFor = lock.name;
  }

  ready(): boolean {
    const l = this.lock;
    return l.writer === null && (!this.write || l.readers === 0);
  }
}

/** One lock's blockers at one site, made when the site is first used in an execution. */
interface SiteBlockers {
  readonly labels: RwSiteLabels;
  readLock: Acquire | null;
  writeLock: Acquire | null;
  /** The same acquisitions after a cond_resched drop: yielding (see condReschedRead). */
  readRelock: Acquire | null;
  writeRelock: Acquire | null;
}

/**
 * A reader/writer lock: many readers or one writer. `rwlock` spins (the
 * kernel's `rwlock_t`, e.g. `mmu_lock`), `rwsem` sleeps (`rw_semaphore`,
 * e.g. `apicv_update_lock`). Acquisition is a step that is enabled only when
 * the lock is free in that mode; release is a step. No fairness: which waiter
 * gets a freed lock is the scheduler's choice (see the runtime README).
 *
 * Every method takes `fn`, the kernel function doing the locking; labels are
 * `fn:name.read_lock` and so on.
 */
export class RwLock implements LockClass {
  /** Number of readers holding the lock. */
  readers = 0;
  /** The writer holding the lock, or null. */
  writer: SimThread | null = null;
  private readonly sites = new Map<string, SiteBlockers>();

  constructor(readonly ex: Execution, readonly name: string, readonly kind: 'rwlock' | 'rwsem' = 'rwlock') {}

  /** A copy for a set-up snapshot: the same holders (copied), fresh blockers (theirs point to this lock). */
  [CLONE](): CopyRecipe {
    // Not `this`: a plan keeps its recipes, and this lock would keep the template's execution alive.
    const { name, kind } = this;
    return { make: (ex) => new RwLock(ex, name, kind), fields: ['readers', 'writer'] };
  }

  private site(fn: string): SiteBlockers {
    let s = this.sites.get(fn);
    if (s === undefined) {
      s = { labels: siteLabels.get(this.name, fn), readLock: null, writeLock: null, readRelock: null, writeRelock: null };
      this.sites.set(fn, s);
    }
    return s;
  }

  /** The blocker of a read (write) acquisition at `s`, or of the re-acquisition after a cond_resched drop. */
  private acquire(s: SiteBlockers, write: boolean, relock: boolean): Acquire {
    if (write) {
      if (relock) return s.writeRelock ??= new Acquire(this, s.labels.writeLock, true, true);
      return s.writeLock ??= new Acquire(this, s.labels.writeLock, true, false);
    }
    if (relock) return s.readRelock ??= new Acquire(this, s.labels.readLock, false, true);
    return s.readLock ??= new Acquire(this, s.labels.readLock, false, false);
  }

  /** `read_lock` / `down_read`. */
  *readLock(t: SimThread, fn: string, relock = false): Step {
    const b = this.acquire(this.site(fn), false, relock);
    this.ex.lockdep.beforeAcquire(t, this, 'read', fn, b.label);
    yield b;
    this.readers++;
    t.held.push({ lock: this, mode: 'read', label: b.label });
  }

  /** `write_lock` / `down_write`. */
  *writeLock(t: SimThread, fn: string, relock = false): Step {
    const b = this.acquire(this.site(fn), true, relock);
    this.ex.lockdep.beforeAcquire(t, this, 'write', fn, b.label);
    yield b;
    this.writer = t;
    t.held.push({ lock: this, mode: 'write', label: b.label });
  }

  /** `read_unlock` / `up_read`. */
  *readUnlock(t: SimThread, fn: string): Step {
    yield this.site(fn).labels.readUnlock;
    this.release(t, 'read', fn);
    this.readers--;
  }

  /** `write_unlock` / `up_write`. */
  *writeUnlock(t: SimThread, fn: string): Step {
    yield this.site(fn).labels.writeUnlock;
    this.release(t, 'write', fn);
    this.writer = null;
  }

  /**
   * `cond_resched_rwlock_read`, when a reschedule is wanted: release, let
   * others run, re-acquire. The kernel drops the lock because another thread
   * wants it (rwlock_needbreak: then cpu_relax) or the CPU should reschedule
   * (then schedule()); either way someone else is meant to run before the
   * re-acquisition, so its step is a yielding one (Blocker.yielding, as a
   * spin point): a source's default there is another runnable thread, and
   * only a preemption keeps the same thread going.
   */
  *condReschedRead(t: SimThread, fn: string): Step {
    yield* this.readUnlock(t, fn);
    yield* this.readLock(t, fn, true);
  }

  /** `cond_resched_rwlock_write`, when a reschedule is wanted (see condReschedRead). */
  *condReschedWrite(t: SimThread, fn: string): Step {
    yield* this.writeUnlock(t, fn);
    yield* this.writeLock(t, fn, true);
  }

  /** Holds the lock for write? */
  isWriteHeldBy(t: SimThread): boolean {
    return this.writer === t;
  }

  private release(t: SimThread, mode: 'read' | 'write', fn: string): void {
    for (let i = t.held.length - 1; i >= 0; i--) {
      const h = t.held[i]!;
      if (h.lock === this && h.mode === mode) {
        t.held.splice(i, 1);
        return;
      }
    }
    this.ex.fail('LOCKDEP', fn, `bad unlock balance on ${this.name}`,
      `${t.name} releases ${this.name} (${mode}) at ${t.label} without holding it`);
  }
}
