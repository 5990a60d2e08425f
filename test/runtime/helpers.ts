/**
 * Shared helpers of the runtime tests (not a test file itself: ava only
 * picks up `*.test.js`).
 */
import { Execution, KObject, type DecisionSource, type ExecutionInfo, type ExecutionOptions, type Outcome, type ThreadBody } from '../../src/runtime';
import { DfsSource, FuzzBytesSource, encodePreemptions, type Preemption } from '../../src/strategies';

/** A generic shared object: a couple of numeric fields, an array and a pointer. */
export class Cell extends KObject {
  value = 0;
  other = 0;
  flag = false;
  arr: number[] = [0, 0, 0];
  ptr: Cell | null = null;

  constructor(ex: Execution, name?: string, kind = 'cell') {
    super(ex, kind, name);
  }
}

/**
 * Runs `run` once for every schedule (and model choice) DFS enumerates and
 * returns every outcome. `run` must build a fresh execution on the given source.
 */
export function exhaust(run: (src: DecisionSource) => Outcome, limit = 50_000): Outcome[] {
  const dfs = new DfsSource();
  const out: Outcome[] = [];
  do {
    out.push(run(dfs));
    if (out.length > limit) throw new Error(`more than ${limit} schedules: program too big for DFS`);
  } while (dfs.advance());
  return out;
}

/** A source that reports every real scheduling decision (runnable ids, step) before delegating. */
export class ProbeSource implements DecisionSource {
  readonly name: string;

  constructor(
    private readonly inner: DecisionSource,
    private readonly probe: (runnable: number[], step: number) => void,
  ) {
    this.name = inner.name;
  }

  beginExecution(info: ExecutionInfo): void {
    this.inner.beginExecution(info);
  }

  nextThread(runnable: readonly number[], count: number, current: number, step: number, yielding: boolean): number {
    this.probe(runnable.slice(0, count), step);
    return this.inner.nextThread(runnable, count, current, step, yielding);
  }

  nextChoice(n: number, label: string): number {
    return this.inner.nextChoice(n, label);
  }
}

/** FuzzBytesSource with the given preemptions (serial schedule when none). */
export function preempt(...list: Preemption[]): FuzzBytesSource {
  return new FuzzBytesSource(encodePreemptions(list));
}

/** Step index of the `nth` event of `thread` (any thread when -1) with `label`; -1 when absent. */
export function stepOf(o: Outcome, thread: number, label: string, nth = 0): number {
  const trace = o.trace;
  if (trace === null) throw new Error('stepOf needs trace: true');
  let seen = 0;
  for (const e of trace) {
    if ((thread < 0 || e.thread === thread) && e.label === label) {
      if (seen === nth) return e.step;
      seen++;
    }
  }
  return -1;
}

/** The trace as `thread:label` strings, for compact whole-schedule assertions. */
export function steps(o: Outcome): string[] {
  if (o.trace === null) throw new Error('steps needs trace: true');
  return o.trace.map((e) => `${o.threads[e.thread]}|${e.label}`);
}

/**
 * Runs one thread in a fresh traced execution: `make` builds the shared
 * objects on the execution and returns the thread's body.
 */
export function runSolo(make: (ex: Execution) => ThreadBody, opts: Partial<ExecutionOptions> = {}, name = 'T0'): Outcome {
  const ex = new Execution(new FuzzBytesSource(), { trace: true, ...opts });
  ex.spawn(name, make(ex));
  return ex.run();
}
