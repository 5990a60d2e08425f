import type { CallFrame, Step } from './blocker';

/**
 * `yield* call(f(...))` runs model function `f` as `yield* f(...)` does, with
 * the same steps, labels and result, but on the thread's call stack
 * (Execution keeps it): while `f` runs, the scheduler resumes `f`'s generator
 * directly instead of through every enclosing `yield*`. A delegation chain
 * costs about 12 ns per level on every step (V8 resumes each enclosing
 * generator in turn), so the outer calls of a thread — its body into
 * kvm_vcpu_run, a guest access into the page fault — go through call();
 * the short inner helpers (a lock, a load) stay plain `yield*`, where the
 * extra generator a call allocates would cost more than it saves.
 *
 * One difference: an exception from `f` (an oracle ending the execution)
 * reaches the scheduler without passing through the caller's `finally`
 * blocks. Nothing runs after such an exception but the report, so no
 * caller may rely on one (the model's `finally` blocks only restore state).
 */
export function* call<T>(g: Step<T>): Step<T> {
  return (yield g as CallFrame) as unknown as T;
}
