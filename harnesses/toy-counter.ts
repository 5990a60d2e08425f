/**
 * The runtime's demo program: N threads each do a plain `counter++` (a load
 * step, then a store step) on one shared counter. Some schedules lose an
 * update; the end-of-execution invariant reports it. It is the smallest
 * program with a real race, used by the runtime's tests, its benchmark and
 * `mmufuzz demo`.
 */
import { Execution, type ExecutionOptions, KObject, type Outcome, type SimThread, type Step } from '../src/runtime';
import type { DecisionSource } from '../src/runtime/decision-source';

export class Counter extends KObject {
  /** Plain int, no lock: that is the bug. */
  value = 0;
  constructor(ex: Execution) {
    super(ex, 'counter', 'counter');
  }
}

/** Thread body: `counter->value++` as the two steps a C compiler emits. */
export function* counterInc(t: SimThread, c: Counter): Step {
  yield 'counter_inc:counter.value.load';
  const v = t.load(c, 'value');
  yield 'counter_inc:counter.value.store';
  t.store(c, 'value', v + 1);
}

/** Runs the toy with `threads` incrementers under `source`. */
export function runToyCounter(source: DecisionSource, opts: Partial<ExecutionOptions> = {}, threads = 2): Outcome {
  const ex = new Execution(source, opts);
  const c = new Counter(ex);
  for (let i = 0; i < threads; i++) ex.spawn(`T${i}`, (t) => counterInc(t, c));
  ex.onQuiescence('counter', () => {
    if (c.value !== threads) {
      ex.fail('INVARIANT', 'lost-update', 'counter increments lost',
        `counter is ${c.value} after ${threads} increments`);
    }
  });
  return ex.run();
}
