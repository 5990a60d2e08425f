/**
 * Target-crash rate over the first executions of many seeds: for each seed
 * race and tool, the share of executions whose failure has the race's
 * signature over `seeds` runs of `runs` executions each. Steadier than the
 * median time to the first crash (which one lucky program decides), so it is
 * the measure for tuning the engine's input mix (bench/README.md).
 */
import { findHarness } from '../harnesses';
import { Fuzzer } from '../src/fuzz/engine';
import type { Harness } from '../src/fuzz/harness';
import { signatureOf } from '../src/runtime';
import { RACES, type Tool } from './fuzz-bench';

export interface HitRate {
  readonly race: string;
  readonly tool: Exclude<Tool, 'jsfuzz'>;
  readonly hits: number;
  readonly execs: number;
}

export function hitRates(seeds: number, runs: number, tools: readonly Exclude<Tool, 'jsfuzz'>[], log: (s: string) => void = console.log): HitRate[] {
  const out: HitRate[] = [];
  for (const race of RACES) {
    const base = findHarness(race.harness)!;
    for (const tool of tools) {
      let hits = 0;
      let execs = 0;
      // The same harness, counting every execution (not the traced replays of new crashes).
      const counting: Harness = Object.create(base) as Harness;
      counting.execute = (s, cfg, source, opts) => {
        const o = base.execute(s, cfg, source, opts);
        if (opts.trace !== true) {
          execs++;
          if (o.failure !== null && race.target.test(signatureOf(o.failure))) hits++;
        }
        return o;
      };
      for (let seed = 1; seed <= seeds; seed++) {
        const strategy = tool === 'mmufuzz' ? 'bytes' : tool;
        new Fuzzer(counting, base.configure(race.off, race.variants), { seed, runs, strategy, feedback: tool === 'mmufuzz', statusEvery: 1e9, syncEvery: 1e9 }, () => undefined).run();
      }
      out.push({ race: race.label, tool, hits, execs });
      log(`  ${race.label.padEnd(40)} ${tool.padEnd(8)} ${String(hits).padStart(5)} / ${execs}  ${((100 * hits) / Math.max(1, execs)).toFixed(3)}%`);
    }
  }
  return out;
}
