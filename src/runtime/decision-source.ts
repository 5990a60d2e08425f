/**
 * The decision-source interface: the only thing the scheduler asks when it
 * has a real choice to make. Strategies (src/strategies/) implement it, the
 * way Shuttle's schedulers implement its engine's scheduler trait.
 *
 * The scheduler consults a source only for real choices: a thread pick when at
 * least two threads are runnable, a value when a choice has at least two
 * options. Forced steps are not asked and not recorded, so a recorded
 * decision log replays exactly through the `replay` strategy.
 */
export interface DecisionSource {
  /** Short name for reports (`bytes`, `random`, `pct`, `replay`, `dfs`). */
  readonly name: string;
  /** Called once before each execution with the number of threads spawned so far. */
  beginExecution(info: ExecutionInfo): void;
  /**
   * Which thread runs the next step. `runnable` holds `count` thread ids in
   * ascending order (count >= 2); `current` is the id of the thread that ran
   * the previous step (-1 before the first step); `step` is the index of the
   * step about to run; `yielding` is true when `current` reached a spin or
   * retry point (see Blocker.yielding) and would rather let another thread
   * run. Must return one of the runnable ids.
   */
  nextThread(runnable: readonly number[], count: number, current: number, step: number, yielding: boolean): number;
  /** A nondeterministic model choice in [0, n), n >= 2 (e.g. "does cond_resched yield here?"). */
  nextChoice(n: number, label: string): number;
  /** Optional: told about a step the scheduler runs without asking (only one thread runnable). */
  observeForced?(id: number, step: number): void;
}

export interface ExecutionInfo {
  /** Threads spawned before the first step (ids 0..threads-1). */
  readonly threads: number;
}

/** Every decision an execution made, in order: enough to replay it exactly. */
export interface DecisionLog {
  /** Thread ids picked at real scheduling choices. */
  readonly schedule: number[];
  /** Values returned by real model choices. */
  readonly choices: number[];
}
