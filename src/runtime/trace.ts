/** One step as recorded in a trace. */
export interface TraceEvent {
  /** Step index within the execution. */
  readonly step: number;
  /** Thread id (index into Outcome.threads). */
  readonly thread: number;
  /** The step's label, `function:action`. */
  readonly label: string;
  /** Fields touched and values, oracle messages; '' when none. */
  detail: string;
  /** Locks the thread holds after the step, e.g. `mmu_lock(R) rcu`. */
  locks: string;
}
