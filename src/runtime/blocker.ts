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
  /**
   * A spin or retry point (`cpu_relax`, a fault retried after RET_PF_RETRY):
   * the thread can go on, but only makes progress once another thread has
   * run. Decision sources treat it like Shuttle's `is_yielding`: their
   * default is to run someone else, so a non-preemptive default schedule
   * does not spin forever while the thread it waits for is runnable.
   */
  readonly yielding?: boolean;
}

/** A yield point that is always runnable but asks the scheduler to prefer another thread. */
export function spinPoint(label: string): Blocker {
  return { label, waitsFor: '', ready: alwaysReady, yielding: true };
}

function alwaysReady(): boolean {
  return true;
}

/**
 * What a simulated thread's generator yields: at a preemption point, the
 * step's label or a blocker; or, from call(), a model function's generator
 * to run on the thread's call stack (not a step).
 */
export type Yielded = string | Blocker | CallFrame;

/** A model function's generator handed to the scheduler by call(). */
export interface CallFrame extends Generator<Yielded, unknown, unknown> {}

/** The generator type of simulated thread bodies and model functions. */
export type Step<R = void> = Generator<Yielded, R, void>;
