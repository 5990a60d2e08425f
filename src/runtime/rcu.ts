import type { Blocker, Step } from './blocker';
import type { Execution } from './execution';
import { label } from './label-memo';
import { CLONE, type CopyRecipe, SnapshotRefused } from './snapshot';
import type { SimThread } from './thread';

interface Callback {
  /** Label of the `call_rcu` step, for traces and reports. */
  readonly queuedAt: string;
  /** What the callback does, e.g. `tdp_mmu_free_sp_rcu_callback(sp#4)`. */
  readonly what: string;
  readonly run: (t: SimThread) => void;
  /** Readers inside a section when call_rcu ran, and which section (rcuSeq) each was in. */
  readonly readers: SimThread[];
  readonly seqs: number[];
}

/**
 * RCU: read sections (`SimThread.rcuReadLock/Unlock`), `call_rcu` and
 * `synchronize_rcu`. A callback may run only after every thread that was
 * inside a read section when it was queued has left that section (its grace
 * period); then the RCU actor — a daemon thread, see `spawnActor` — may run it,
 * at a time and in an order the scheduler chooses, as early as allowed or as
 * late as the end of the execution (an `rcu_barrier` when every other thread
 * is done).
 */
export class Rcu {
  private readonly queue: Callback[] = [];
  private readonly actorReady: Blocker;

  constructor(readonly ex: Execution) {
    this.actorReady = { label: 'rcu_do_batch:rcu.callbacks', waitsFor: 'rcu grace period', ready: () => this.anyReady() };
  }

  /** A copy for a set-up snapshot: only with no callback queued (a callback is a closure over the template's objects). */
  [CLONE](): CopyRecipe {
    if (this.queue.length > 0) throw new SnapshotRefused(`${this.queue.length} RCU callbacks queued`);
    return { make: (ex) => new Rcu(ex), fields: [] };
  }

  /** Callbacks queued and not yet run. */
  get pending(): number {
    return this.queue.length;
  }

  /** `call_rcu`: queue `run` to be invoked by the RCU actor after a grace period. Part of the caller's step. */
  callRcu(t: SimThread, what: string, run: (t: SimThread) => void): void {
    const { readers, seqs } = this.snapshotReaders();
    this.queue.push({ queuedAt: t.label, what, run, readers, seqs });
    if (t.ex.tracing) t.note(`call_rcu ${what}`);
  }

  /** `synchronize_rcu`: blocks until every reader active at the call has left its section. */
  *synchronize(t: SimThread, fn: string): Step {
    t.mightSleep(fn, 'synchronize_rcu');
    const { readers, seqs } = this.snapshotReaders();
    yield { label: label(fn, 'synchronize_rcu'), waitsFor: 'rcu grace period', ready: () => passed(readers, seqs) };
  }

  /** Spawns the RCU actor, the daemon that runs callbacks whose grace period has ended. */
  spawnActor(name = 'rcu'): SimThread {
    return this.ex.spawn(name, (t) => this.actor(t), { daemon: true });
  }

  /** The RCU actor's body (spawnActor; a restored set-up creates the thread itself). */
  *actor(t: SimThread): Step {
    for (;;) {
      yield this.actorReady;
      const ready: number[] = [];
      for (let i = 0; i < this.queue.length; i++) if (passed(this.queue[i]!.readers, this.queue[i]!.seqs)) ready.push(i);
      const k = ready.length === 1 ? 0 : t.choose(ready.length, 'rcu_do_batch which callback');
      const cb = this.queue.splice(ready[k]!, 1)[0]!;
      if (t.ex.tracing) t.note(`run ${cb.what} (queued at ${cb.queuedAt})`);
      cb.run(t);
    }
  }

  /** The threads inside a read section now, and which section each is in. */
  private snapshotReaders(): { readers: SimThread[]; seqs: number[] } {
    const readers: SimThread[] = [];
    const seqs: number[] = [];
    for (const th of this.ex.threads) {
      if (th.rcuDepth > 0) {
        readers.push(th);
        seqs.push(th.rcuSeq);
      }
    }
    return { readers, seqs };
  }

  private anyReady(): boolean {
    for (let i = 0; i < this.queue.length; i++) if (passed(this.queue[i]!.readers, this.queue[i]!.seqs)) return true;
    return false;
  }
}

function passed(readers: readonly SimThread[], seqs: readonly number[]): boolean {
  for (let i = 0; i < readers.length; i++) {
    const r = readers[i]!;
    if (r.rcuDepth > 0 && r.rcuSeq === seqs[i]) return false;
  }
  return true;
}
