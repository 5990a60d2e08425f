import { runToyCounter } from '../../harnesses/toy-counter';
import type { DecisionSource } from '../runtime/decision-source';
import { renderSwimlanes } from '../report/swimlane';
import { DfsSource, FuzzBytesSource, PctSource, RandomWalkSource, ReplaySource, formatSchedule } from '../strategies';

export interface DemoOptions {
  strategy: 'random' | 'pct' | 'dfs' | 'bytes';
  seed: number;
  executions: number;
  threads: number;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = { strategy: 'random', seed: 1, executions: 1000, threads: 2 };

/**
 * The runtime demo: explores schedules of the toy counter (N threads doing a
 * plain `counter++`) until one loses an update, prints its swimlane trace,
 * the schedule line that replays it, and checks that the replay is identical.
 * Returns the process exit code: 1 when the race was found (like a fuzzer
 * that found a crash), 0 when not.
 */
export function runDemo(o: DemoOptions, out: (s: string) => void): number {
  const source = makeSource(o);
  let execs = 0;
  let found = null;
  for (;;) {
    const outcome = runToyCounter(source, {}, o.threads);
    execs++;
    if (outcome.failure !== null) {
      found = outcome;
      break;
    }
    if (execs >= o.executions) break;
    if (source instanceof DfsSource && !source.advance()) break;
  }
  out(`demo: toy counter, ${o.threads} threads, strategy ${o.strategy}, seed ${o.seed}`);
  if (found === null) {
    out(`#${execs} DONE no failure found`);
    return 0;
  }
  const schedule = formatSchedule(found.decisions);
  const traced = runToyCounter(new ReplaySource(found.decisions), { trace: true }, o.threads);
  out(`#${execs} CRASH ${found.failure!.kind} after ${execs} executions`);
  out('');
  out(renderSwimlanes(traced));
  out('');
  out(`schedule: ${schedule}`);
  const same = traced.failure !== null && JSON.stringify(traced.failure) === JSON.stringify(found.failure);
  out(`replay: ${same ? 'reproduces the same failure' : 'DOES NOT reproduce'}`);
  return same ? 1 : 3;
}

function makeSource(o: DemoOptions): DecisionSource {
  switch (o.strategy) {
    case 'random':
      return new RandomWalkSource(o.seed);
    case 'pct':
      return new PctSource(o.seed, 3, 4 * o.threads);
    case 'dfs':
      return new DfsSource();
    case 'bytes':
      return new FuzzBytesSource();
  }
}
