/**
 * PCT's priorities (Burckhardt et al., ASPLOS 2010), shared by PctSource and
 * the bytes source's PCT mode: the highest-priority runnable thread runs; a
 * drop (a change point, or a thread at a spin point) puts a thread below
 * every priority so far, with one decreasing counter for both kinds, as in
 * Shuttle, so a change point never lifts a thread a spin point dropped; a
 * thread spawned during the run gets a fresh priority above the initial
 * ones.
 */
export class PriorityOrder {
  private priority: number[] = [];
  /** The next drop's priority (decreasing) and the next spawned thread's (increasing). */
  private low = 0;
  private fresh = 0;

  /** Starts an execution with these initial priorities (thread id → priority, all above 0). */
  reset(initial: number[]): void {
    this.priority = initial;
    this.low = 0;
    let top = 0;
    for (const p of initial) if (p > top) top = p;
    this.fresh = top + 1;
  }

  /** Thread `id` drops below every priority so far. */
  drop(id: number): void {
    this.priority[id] = this.low--;
  }

  /** The highest-priority thread of `runnable[0..count)`. */
  highest(runnable: readonly number[], count: number): number {
    let best = runnable[0]!;
    let bestP = -Infinity;
    for (let i = 0; i < count; i++) {
      const id = runnable[i]!;
      let p = this.priority[id];
      if (p === undefined) {
        p = this.fresh++;
        this.priority[id] = p;
      }
      if (p > bestP) {
        bestP = p;
        best = id;
      }
    }
    return best;
  }
}
