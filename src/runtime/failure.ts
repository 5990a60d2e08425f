/**
 * Failures: the one discriminated union every oracle produces, and the one
 * place where a failure is formatted into its signature (DESIGN.md §5).
 *
 * A signature is `KIND site: detail` — stable across runs; values that vary
 * between runs (gfns, counts, step numbers) belong in `message`, never in
 * `site` or `detail`.
 */

export type FailureKind =
  | 'WARN'
  | 'BUG'
  | 'UAF'
  | 'NULL'
  | 'REFCOUNT'
  | 'LOCKDEP'
  | 'DEADLOCK'
  | 'HANG'
  | 'INVARIANT';

export const FAILURE_KINDS: readonly FailureKind[] = [
  'WARN', 'BUG', 'UAF', 'NULL', 'REFCOUNT', 'LOCKDEP', 'DEADLOCK', 'HANG', 'INVARIANT',
];

export interface Failure {
  readonly kind: FailureKind;
  /** Kernel function (or invariant name) where the oracle fired. */
  readonly site: string;
  /** Stable description: no run-dependent values. */
  readonly detail: string;
  /** Human-readable explanation with the values involved. */
  readonly message: string;
  /** Index of the step during which it fired (-1: at quiescence). */
  readonly step: number;
  /** Name of the thread that was running (or '' at quiescence). */
  readonly thread: string;
}

/** The one-line signature of a failure, `KIND site: detail`. */
export function signatureOf(f: Pick<Failure, 'kind' | 'site' | 'detail'>): string {
  return `${f.kind} ${f.site}: ${f.detail}`;
}

/** A file-system friendly form of a signature (used for crash directories). */
export function signatureSlug(signature: string): string {
  const slug = signature
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.length > 96 ? slug.slice(0, 96).replace(/-+$/, '') : slug;
}

/** Multi-line human form: signature, then message, then where it fired. */
export function formatFailure(f: Failure): string {
  const where = f.step >= 0 ? `step ${f.step}, thread ${f.thread}` : 'at quiescence';
  return `${signatureOf(f)}\n  ${f.message}\n  (${where})`;
}

/**
 * Thrown through the model's generators to end an execution at the step where
 * an oracle fired. Only the scheduler catches it. It carries no JavaScript
 * stack: the failure names its kernel site and the trace shows the steps,
 * and capturing the stack through the generators was 5% of a failing
 * execution's time (a fifth of seed 000's early executions fail).
 */
export class KernelFailure extends Error {
  constructor(readonly failure: Failure) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(signatureOf(failure));
    Error.stackTraceLimit = limit;
    this.name = 'KernelFailure';
  }
}

/**
 * Raised by a decision source that cannot answer (e.g. a replay log that
 * diverged). The scheduler lets it through unwrapped.
 */
export class DecisionSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecisionSourceError';
  }
}

/**
 * A bug in the model or harness itself (a JavaScript exception inside a
 * thread): never reported as a kernel crash, always surfaced.
 */
export class ModelError extends Error {
  constructor(message: string, readonly step: number, readonly thread: string, readonly cause0?: unknown) {
    super(message);
    this.name = 'ModelError';
  }
}
