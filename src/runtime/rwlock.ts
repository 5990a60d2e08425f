import type { Blocker, Step } from './blocker';
import type { Execution } from './execution';
import { memberLabel } from './label-memo';
import type { LockClass } from './lockdep';
import { CLONE, type CopyRecipe } from './snapshot';
import type { SimThread } from './thread';

interface SiteLabels {
  readLock: Blocker;
  writeLock: Blocker;
  /** The same acquisitions after a cond_resched drop: yielding (see condReschedRead). */
  readRelock: Blocker;
  writeRelock: Blocker;
  readUnlock: string;
  writeUnlock: string;
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
  private readonly sites = new Map<string, SiteLabels>();

  constructor(readonly ex: Execution, readonly name: string, readonly kind: 'rwlock' | 'rwsem' = 'rwlock') {}

  /** A copy for a set-up snapshot: the same holders (copied), fresh blockers (theirs close over this lock). */
  [CLONE](): CopyRecipe {
    // Not `this`: a plan keeps its recipes, and this lock would keep the template's execution alive.
    const { name, kind } = this;
    return { make: (ex) => new RwLock(ex, name, kind), fields: ['readers', 'writer'] };
  }

  private labels(fn: string): SiteLabels {
    let s = this.sites.get(fn);
    if (s === undefined) {
      const readLock: Blocker = { label: memberLabel(fn, this.name, 'read_lock'), waitsFor: this.name, ready: () => this.writer === null };
      const writeLock: Blocker = { label: memberLabel(fn, this.name, 'write_lock'), waitsFor: this.name, ready: () => this.writer === null && this.readers === 0 };
      s = {
        readLock,
        writeLock,
        readRelock: { ...readLock, yielding: true },
        writeRelock: { ...writeLock, yielding: true },
        readUnlock: memberLabel(fn, this.name, 'read_unlock'),
        writeUnlock: memberLabel(fn, this.name, 'write_unlock'),
      };
      this.sites.set(fn, s);
    }
    return s;
  }

  /** `read_lock` / `down_read`. */
  *readLock(t: SimThread, fn: string, relock = false): Step {
    const l = this.labels(fn);
    this.ex.lockdep.beforeAcquire(t, this, 'read', fn, l.readLock.label);
    yield relock ? l.readRelock : l.readLock;
    this.readers++;
    t.held.push({ lock: this, mode: 'read', label: l.readLock.label });
  }

  /** `write_lock` / `down_write`. */
  *writeLock(t: SimThread, fn: string, relock = false): Step {
    const l = this.labels(fn);
    this.ex.lockdep.beforeAcquire(t, this, 'write', fn, l.writeLock.label);
    yield relock ? l.writeRelock : l.writeLock;
    this.writer = t;
    t.held.push({ lock: this, mode: 'write', label: l.writeLock.label });
  }

  /** `read_unlock` / `up_read`. */
  *readUnlock(t: SimThread, fn: string): Step {
    yield this.labels(fn).readUnlock;
    this.release(t, 'read', fn);
    this.readers--;
  }

  /** `write_unlock` / `up_write`. */
  *writeUnlock(t: SimThread, fn: string): Step {
    yield this.labels(fn).writeUnlock;
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
