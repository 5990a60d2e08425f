import type { DecisionSource } from '../runtime/decision-source';

interface Point {
  /** Index of the option taken. */
  idx: number;
  /** Number of options at this point. */
  count: number;
}

/**
 * Exhaustive depth-first enumeration of every decision sequence of a
 * deterministic program: run an execution, then call `advance()`; it returns
 * false once every schedule (and every model choice) has been explored.
 * Each execution replays the trail's prefix and takes option 0 at new points,
 * as Shuttle's DFS scheduler does. Only for small programs.
 */
export class DfsSource implements DecisionSource {
  readonly name = 'dfs';
  private readonly trail: Point[] = [];
  private pos = 0;
  /** Executions begun so far. */
  executions = 0;

  beginExecution(): void {
    this.pos = 0;
    this.executions++;
  }

  nextThread(runnable: readonly number[], count: number): number {
    return runnable[this.take(count)]!;
  }

  nextChoice(n: number): number {
    return this.take(n);
  }

  /** Moves to the next unexplored schedule; false when the space is exhausted. */
  advance(): boolean {
    this.trail.length = this.pos;
    while (this.trail.length > 0) {
      const last = this.trail[this.trail.length - 1]!;
      if (last.idx + 1 < last.count) {
        last.idx++;
        return true;
      }
      this.trail.pop();
    }
    return false;
  }

  private take(count: number): number {
    if (this.pos < this.trail.length) {
      const p = this.trail[this.pos++]!;
      if (p.count !== count) throw new Error(`DFS: program is not deterministic (point ${this.pos - 1} had ${p.count} options, now ${count})`);
      return p.idx;
    }
    this.trail.push({ idx: 0, count });
    this.pos++;
    return 0;
  }
}
