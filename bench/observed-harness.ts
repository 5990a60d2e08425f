import type { Harness } from '../src/fuzz/harness';
import type { Outcome } from '../src/runtime';

/**
 * The same harness, calling `observe` with the outcome of every execution
 * of the search: the traced replays of new crashes are reports, not
 * executions, and are not observed. For the suites that count executions,
 * steps and hits (hit-rate.ts, kind-rates.ts, input-origins.ts).
 */
export function observedHarness(base: Harness, observe: (o: Outcome) => void): Harness {
  const h: Harness = Object.create(base) as Harness;
  h.execute = (s, cfg, source, opts) => {
    const o = base.execute(s, cfg, source, opts);
    if (opts.trace !== true) observe(o);
    return o;
  };
  return h;
}
