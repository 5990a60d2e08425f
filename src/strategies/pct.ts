import seedrandom from 'seedrandom';
import type { DecisionSource, ExecutionInfo } from '../runtime/decision-source';
import { PriorityOrder } from './priority-order';

/**
 * PCT (Burckhardt et al., "A Randomized Scheduler with Probabilistic
 * Guarantees of Finding Bugs", ASPLOS 2010) with bug depth `depth`, counted
 * as Shuttle and Coyote count it. Each execution gives every thread a
 * distinct random priority >= depth and picks depth-1 change points
 * uniformly among its first k scheduling decisions; the highest-priority
 * runnable thread runs, and at each change point the running thread's
 * priority drops below every priority so far (the paper's depth-1-i for a
 * thread not dropped before; one counter for change points and spinners,
 * as in Shuttle, so a change point never lifts a thread that a spin point
 * dropped). Steps are counted at decisions only (two or
 * more threads runnable): a step where one thread can run is not a point
 * where a priority change can act, and a harness's serial set-up (hundreds
 * of steps restored from a snapshot on unsync and tdp-roots) would
 * otherwise draw most change points where nothing can happen. `k` starts at
 * `stepsHint` and then tracks the most decisions an execution of this
 * source has made (as Shuttle tracks its longest execution): keep one
 * source for a whole run.
 * A thread at a spin or retry point (`yielding`) drops below every other
 * thread for the rest of the execution, as in Shuttle and Coyote: skipping
 * it for one decision only let two spinning threads above the thread they
 * wait for hand the CPU to each other until the step bound (a false HANG).
 * Seeded with seedrandom.
 */
export class PctSource implements DecisionSource {
  readonly name = 'pct';
  private readonly rng: seedrandom.PRNG;
  private readonly order = new PriorityOrder();
  private changePoints: number[] = [];
  private cp = 0;
  /** Decisions made in this execution, and the most any execution of this source made. */
  private decisions = 0;
  private maxDecisions = 0;

  constructor(readonly seed: number | string, readonly depth = 3, private stepsHint = 1000) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`PCT depth must be a positive integer, got ${depth}`);
    this.rng = seedrandom.xor4096(`pct:${seed}`);
  }

  beginExecution(info: ExecutionInfo): void {
    if (this.maxDecisions > 0) this.stepsHint = this.maxDecisions;
    const n = info.threads;
    const prios = Array.from({ length: n }, (_, i) => this.depth + i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [prios[i], prios[j]] = [prios[j]!, prios[i]!];
    }
    this.order.reset(prios);
    const k = Math.max(1, this.stepsHint);
    this.changePoints = Array.from({ length: this.depth - 1 }, () => Math.floor(this.rng() * k)).sort((a, b) => a - b);
    this.cp = 0;
    this.decisions = 0;
  }

  nextThread(runnable: readonly number[], count: number, current: number, _step: number, yielding = false): number {
    const d = this.decisions++;
    if (d + 1 > this.maxDecisions) this.maxDecisions = d + 1;
    while (this.cp < this.changePoints.length && this.changePoints[this.cp]! <= d) {
      if (current >= 0) this.order.drop(current);
      this.cp++;
    }
    // A spinning thread lets every other thread go first from now on.
    if (yielding && current >= 0) this.order.drop(current);
    return this.order.highest(runnable, count);
  }

  nextChoice(n: number): number {
    return Math.floor(this.rng() * n);
  }
}
