import type { DecisionLog, DecisionSource } from '../runtime/decision-source';
import { DecisionSourceError } from '../runtime/failure';

/** A replayed execution asked for a decision the log does not have, or the log's pick is impossible. */
export class ReplayDivergence extends DecisionSourceError {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayDivergence';
  }
}

/**
 * Replays a recorded decision log exactly. Any divergence — the log runs out
 * or names a thread that is not runnable — throws ReplayDivergence, which
 * means the model or harness is not deterministic (or the log belongs to
 * another program).
 */
export class ReplaySource implements DecisionSource {
  readonly name = 'replay';
  private s = 0;
  private c = 0;

  constructor(private readonly log: DecisionLog) {}

  beginExecution(): void {
    this.s = 0;
    this.c = 0;
  }

  nextThread(runnable: readonly number[], count: number, _current: number, step: number): number {
    if (this.s >= this.log.schedule.length) {
      throw new ReplayDivergence(`schedule log exhausted at step ${step} (${this.log.schedule.length} picks recorded)`);
    }
    const id = this.log.schedule[this.s++]!;
    for (let i = 0; i < count; i++) if (runnable[i] === id) return id;
    throw new ReplayDivergence(`recorded pick ${this.s - 1} (thread ${id}) is not runnable at step ${step}; runnable: ${runnable.slice(0, count).join(',')}`);
  }

  nextChoice(n: number, label: string): number {
    if (this.c >= this.log.choices.length) throw new ReplayDivergence(`choice log exhausted at ${label}`);
    const v = this.log.choices[this.c++]!;
    if (v >= n) throw new ReplayDivergence(`recorded choice ${v} out of range [0, ${n}) at ${label}`);
    return v;
  }

  /** True when every recorded decision was used. */
  get consumedAll(): boolean {
    return this.s === this.log.schedule.length && this.c === this.log.choices.length;
  }
}
