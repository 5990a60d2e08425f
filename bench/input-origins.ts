/**
 * Where mmufuzz's hits of a race come from (`npm run bench -- origins`):
 * each seed runs the default engine (or a variant's options) until the
 * target's first crash or the cap, and every execution is counted by the
 * origin of its input (InputOrigin: generated, a mutation, a new schedule
 * or a conflict-directed schedule for a corpus entry's programs, an
 * extension of a corrupt or a newly kept run, the start). Per origin: its share of the
 * executions, the steps one costs, and the seeds whose first hit it made.
 *
 * First hits per execution of each origin say which inputs find a race;
 * with steps per execution, which find it soonest in time. On `mmu`'s
 * stale-mmio (session 14), generated inputs made most first hits while
 * inputs made from corpus entries cost 1.7x their steps (bench/README.md).
 */
import { findHarness } from '../harnesses';
import { type FuzzOptions, Fuzzer, INPUT_ORIGINS, type InputOrigin } from '../src/fuzz/engine';
import type { Harness } from '../src/fuzz/harness';
import { signatureOf } from '../src/runtime';
import type { Race } from './fuzz-bench';
import { observedHarness } from './observed-harness';

export interface OriginCount {
  readonly origin: InputOrigin;
  /** Executions of inputs of this origin, over every seed (up to each seed's first hit). */
  readonly execs: number;
  /** Steps run per execution (a set-up snapshot's steps not counted). */
  readonly stepsPerExec: number;
  /** Seeds whose first hit of the target was an input of this origin. */
  readonly firstHits: number;
}

export interface RaceOrigins {
  readonly race: string;
  readonly seeds: number;
  /** Seeds that hit the target before the cap. */
  readonly found: number;
  readonly origins: readonly OriginCount[];
}

/** One trial: runs until the target's first hit (or `cap` seconds), counting executions and steps by origin; returns the origin of the hit. */
function originTrial(base: Harness, race: Race, opts: Partial<FuzzOptions>, seed: number, cap: number,
  execs: Map<InputOrigin, number>, steps: Map<InputOrigin, number>): InputOrigin | null {
  let hit: InputOrigin | null = null;
  let fz: Fuzzer | null = null;
  const counting = observedHarness(base, (out) => {
    if (hit !== null) return;
    const origin = fz!.lastOrigin;
    execs.set(origin, (execs.get(origin) ?? 0) + 1);
    steps.set(origin, (steps.get(origin) ?? 0) + out.steps - out.startStep);
    if (out.failure !== null && race.target.test(signatureOf(out.failure))) hit = origin;
  });
  fz = new Fuzzer(counting, base.configure(race.off, race.variants), {
    ...opts, seed, maxTotalTime: cap, now: () => performance.now(), statusEvery: 1e9, syncEvery: 1e9, shouldStop: () => hit !== null,
  }, () => undefined);
  fz.run();
  return hit;
}

/** Each race's executions, steps and first hits by origin over seeds `first` .. `first + seeds - 1`. */
export function inputOrigins(races: readonly Race[], seeds: number, first: number, cap: number, opts: Partial<FuzzOptions> = {},
  log: (s: string) => void = console.log): RaceOrigins[] {
  const out: RaceOrigins[] = [];
  for (const race of races) {
    const base = findHarness(race.harness)!;
    const execs = new Map<InputOrigin, number>();
    const steps = new Map<InputOrigin, number>();
    const firsts = new Map<InputOrigin, number>();
    let found = 0;
    for (let seed = first; seed < first + seeds; seed++) {
      const o = originTrial(base, race, opts, seed, cap, execs, steps);
      if (o === null) continue;
      found++;
      firsts.set(o, (firsts.get(o) ?? 0) + 1);
    }
    const total = [...execs.values()].reduce((a, b) => a + b, 0);
    const origins = INPUT_ORIGINS.map((origin): OriginCount => {
      const n = execs.get(origin) ?? 0;
      return { origin, execs: n, stepsPerExec: n > 0 ? steps.get(origin)! / n : 0, firstHits: firsts.get(origin) ?? 0 };
    });
    out.push({ race: race.id, seeds, found, origins });
    log(`  ${race.label}: found on ${found}/${seeds} seeds, ${total} executions`);
    for (const c of origins) {
      if (c.execs === 0 && c.firstHits === 0) continue;
      const share = total > 0 ? (100 * c.execs) / total : 0;
      const rate = c.execs > 0 ? ((1e5 * c.firstHits) / c.execs).toFixed(1) : '-';
      // Per million steps run: what an origin's hits cost in time (an execution's time grows with its steps).
      const perSteps = c.execs > 0 && c.stepsPerExec > 0 ? ((1e6 * c.firstHits) / (c.execs * c.stepsPerExec)).toFixed(2) : '-';
      log(`    ${c.origin.padEnd(10)} ${share.toFixed(1).padStart(5)}% of executions  ${c.stepsPerExec.toFixed(0).padStart(4)} steps/exec  ${String(c.firstHits).padStart(4)} first hits  ${rate.padStart(7)} per 100k executions  ${perSteps.padStart(6)} per M steps`);
    }
  }
  return out;
}
