/**
 * Rates that decide the time to the first crash, measured over many seeds
 * (steadier than a median of first-crash times, which a few lucky programs
 * decide). For each seed race and tool, `runs` executions of each of `seeds`
 * runs from an empty corpus:
 *  - first-hit rate: seeds that found the target / executions run before
 *    each seed's first target crash (or all of them, when none). The maximum
 *    likelihood estimate of the per-execution chance of a first hit; the
 *    median time to the first crash is about ln 2 / this rate executions.
 *    This is the measure for tuning the engine (bench/README.md);
 *  - total rate: all target crashes / all executions. After a first hit,
 *    feedback replays and varies the crashing input, so this rate rewards
 *    exploitation and says little about the first hit;
 *  - steps per execution: what an execution costs (mmufuzz's corpus inputs
 *    grow bigger than generated ones).
 */
import { findHarness } from '../harnesses';
import { Fuzzer } from '../src/fuzz/engine';
import { signatureOf } from '../src/runtime';
import { RACES, type Race, type Tool, toolOptions } from './fuzz-bench';
import { observedHarness } from './observed-harness';

export interface HitRate {
  readonly race: string;
  readonly tool: Exclude<Tool, 'jsfuzz'>;
  /** Seeds that hit the target. */
  readonly found: number;
  readonly seeds: number;
  /** Executions up to and including each seed's first hit (all of a seed's executions when it found none). */
  readonly execsToFirst: number;
  /** Model steps of those executions: what they cost. */
  readonly stepsToFirst: number;
  /** Target crashes and executions over every run. */
  readonly hits: number;
  readonly execs: number;
  readonly steps: number;
}

/** found / execsToFirst: the per-execution chance of a first hit. */
export function firstHitRate(r: HitRate): number {
  return r.found / Math.max(1, r.execsToFirst);
}

/** found / stepsToFirst, per million steps: the first-hit rate per unit of work (bigger executions cost more time). */
export function firstHitsPerMegastep(r: HitRate): number {
  return (1e6 * r.found) / Math.max(1, r.stepsToFirst);
}

export function hitRates(seeds: number, runs: number, tools: readonly Exclude<Tool, 'jsfuzz'>[], log: (s: string) => void = console.log, races: readonly Race[] = RACES): HitRate[] {
  const out: HitRate[] = [];
  for (const race of races) {
    const base = findHarness(race.harness)!;
    for (const tool of tools) {
      let hits = 0;
      let execs = 0;
      let steps = 0;
      let found = 0;
      let execsToFirst = 0;
      let stepsToFirst = 0;
      let seedExecs = 0;
      let first: number | null = null;
      // The same harness, counting every execution (not the traced replays of new crashes).
      const counting = observedHarness(base, (o) => {
        execs++;
        seedExecs++;
        steps += o.steps;
        if (first === null) stepsToFirst += o.steps;
        if (o.failure !== null && race.target.test(signatureOf(o.failure))) {
          hits++;
          if (first === null) first = seedExecs;
        }
      });
      for (let seed = 1; seed <= seeds; seed++) {
        seedExecs = 0;
        first = null;
        new Fuzzer(counting, base.configure(race.off, race.variants), { ...toolOptions(tool), seed, runs, statusEvery: 1e9, syncEvery: 1e9 }, () => undefined).run();
        if (first !== null) found++;
        execsToFirst += first ?? seedExecs;
      }
      const r: HitRate = { race: race.label, tool, found, seeds, execsToFirst, stepsToFirst, hits, execs, steps };
      out.push(r);
      log(`  ${race.label.padEnd(40)} ${tool.padEnd(14)} first-hit ${(100 * firstHitRate(r)).toFixed(3).padStart(6)}% (${found}/${seeds} seeds)`
        + `  per Msteps ${firstHitsPerMegastep(r).toFixed(2).padStart(6)}  total ${(100 * hits / Math.max(1, execs)).toFixed(3).padStart(6)}%  steps/exec ${(steps / Math.max(1, execs)).toFixed(0)}`);
    }
  }
  return out;
}
