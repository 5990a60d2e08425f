import type { DecisionSource } from '../runtime/decision-source';
import type { SimThread } from '../runtime/thread';

/** One line of a schedule script: run `thread` until its next step is `until` (its `nth` occurrence from now). */
export interface ScriptStep {
  readonly thread: string;
  /** A label (exact) or a label prefix ending in `*`; null = until the thread finishes. */
  readonly until: string | null;
  /** Stop at the nth time the thread reaches the label (default 1). */
  readonly nth?: number;
}

/**
 * Schedules written like the interleaving tables of the source documents:
 * "A runs until it is about to do M4; B runs until it is about to do M4; A
 * runs until M5 …". Each step of the script runs one named thread until its
 * pending label matches, then the next line takes over; after the last
 * line the schedule is serial (the last thread keeps running while it can,
 * then the lowest-numbered runnable thread).
 *
 * `strict` (default): a line whose thread is blocked, or that finishes
 * before reaching its label, throws — the script does not describe this
 * program. Not strict: a blocked thread lets the others run (lowest id
 * first) until it can continue, which replays the script's intent on a
 * variant of the code that adds locking (the same program on the other side
 * of a switch).
 */
export class ScriptedSource implements DecisionSource {
  readonly name = 'script';
  private line = 0;
  private seen = 0;
  private lastSteps = -1;
  private threads: () => readonly SimThread[] = () => [];

  /**
   * `choices` answers model choices by their label (e.g. `{'tdp_mmu_iter_cond_resched need_resched': 1}`
   * makes every such point yield); unlisted choices are 0.
   */
  constructor(readonly script: readonly ScriptStep[], readonly strict = true, readonly choices: Readonly<Record<string, number>> = {}) {}

  /** Gives the source a view of the execution's threads (call before run()). */
  attach(threads: () => readonly SimThread[]): this {
    this.threads = threads;
    return this;
  }

  beginExecution(): void {
    this.line = 0;
    this.seen = 0;
    this.lastSteps = -1;
  }

  nextThread(runnable: readonly number[], count: number, current: number): number {
    const all = this.threads();
    for (;;) {
      const d = this.script[this.line];
      if (d === undefined) break;
      const th = all.find((x) => x.name === d.thread);
      if (th === undefined) throw new Error(`script line ${this.line + 1}: no thread named ${d.thread}`);
      if (th.done) {
        if (d.until !== null && this.strict) throw new Error(`script line ${this.line + 1}: ${d.thread} finished before reaching ${d.until}`);
        this.advance();
        continue;
      }
      if (d.until !== null && matches(th.label, d.until) && th.steps !== this.lastSteps) {
        this.seen++;
        this.lastSteps = th.steps;
        if (this.seen >= (d.nth ?? 1)) {
          this.advance();
          continue;
        }
      }
      if (isIn(runnable, count, th.id)) return th.id;
      if (this.strict) throw new Error(`script line ${this.line + 1}: ${d.thread} is blocked at ${th.label}`);
      return isIn(runnable, count, current) ? current : runnable[0]!;
    }
    return isIn(runnable, count, current) ? current : runnable[0]!;
  }

  nextChoice(n: number, label: string): number {
    const v = this.choices[label] ?? 0;
    return v < n ? v : n - 1;
  }

  /**
   * A step run without asking: when it is the current line's thread about to
   * run the label the line stops at, the script cannot be followed (strict:
   * throw), or the line counts as reached (not strict).
   */
  observeForced(id: number): void {
    const d = this.script[this.line];
    if (d === undefined || d.until === null) return;
    const th = this.threads().find((x) => x.name === d.thread);
    if (th === undefined || th.id !== id || !matches(th.label, d.until) || th.steps === this.lastSteps) return;
    if (this.seen + 1 < (d.nth ?? 1)) {
      this.seen++;
      this.lastSteps = th.steps;
      return;
    }
    if (this.strict) throw new Error(`script line ${this.line + 1}: ${d.thread} had to run ${d.until} (no other thread could run)`);
    this.advance();
  }

  /** Lines of the script completed so far. */
  get progress(): number {
    return this.line;
  }

  private advance(): void {
    this.line++;
    this.seen = 0;
    this.lastSteps = -1;
  }
}

function matches(label: string, pattern: string): boolean {
  return pattern.endsWith('*') ? label.startsWith(pattern.slice(0, -1)) : label === pattern;
}

function isIn(runnable: readonly number[], count: number, id: number): boolean {
  for (let i = 0; i < count; i++) if (runnable[i] === id) return true;
  return false;
}
