/**
 * What a thread yields when its next step may have to wait: the step's label,
 * and a predicate that tells the scheduler whether the step can run now. A
 * thread whose pending blocker is not ready is not runnable. The step itself
 * (e.g. taking the lock) runs in the thread right after the yield returns;
 * nothing else runs between the check and the step.
 */
export interface Blocker {
  readonly label: string;
  /** Name of the lock (or grace period) waited for, for deadlock reports. */
  readonly waitsFor: string;
  ready(): boolean;
}

/** What a simulated thread's generator yields at a preemption point. */
export type Yielded = string | Blocker;

/** The generator type of simulated thread bodies and model functions. */
export type Step<R = void> = Generator<Yielded, R, void>;
