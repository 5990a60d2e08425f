/**
 * Which kind of schedule a race wants (`npm run bench -- kinds`): for each
 * race, the chance that one execution of a generated input hits the target,
 * for each kind of new schedule the engine can make (ScheduleArms: the
 * preemptions shape, random switches at each rate, PCT priorities), and for
 * the random-walk and PCT baselines. No feedback, so the executions are
 * independent and hits / executions estimates that chance.
 *
 * The prior's mix (the kinds weighted by SCHEDULE_PRIOR, what mmufuzz's new
 * schedules start from on any harness) against the best kind says how much
 * a fixed portfolio gives away on a race: a target whose best kind the
 * prior weighs lightly is where a baseline that runs only that kind can win
 * (bench/README.md, session 15: `mmu`'s stale-mmio wants rates of 64 to
 * 192, and the mix hits it at 0.75x random walk's rate).
 */
import { findHarness } from '../harnesses';
import { DEFAULT_FUZZ_OPTIONS, type FuzzOptions, Fuzzer } from '../src/fuzz/engine';
import type { Harness } from '../src/fuzz/harness';
import { signatureOf } from '../src/runtime';
import type { Race } from './fuzz-bench';
import { observedHarness } from './observed-harness';

export interface KindRate {
  /** The kind of schedule, as the engine names it, or a baseline. */
  readonly kind: string;
  /** Its share of new schedules in the prior (null for a baseline). */
  readonly prior: number | null;
  readonly execs: number;
  /** Executions that failed with the target's signature. */
  readonly hits: number;
  /** Steps run per execution. */
  readonly stepsPerExec: number;
}

export interface RaceKinds {
  readonly race: string;
  readonly kinds: readonly KindRate[];
  /** Hits per 100k executions of the prior's mix: Σ prior × rate. */
  readonly mixPer100k: number;
  /** The kind with the highest rate (ties: the first), and its hits per 100k. */
  readonly best: { readonly kind: string; readonly per100k: number };
}

/** Hits per 100,000 executions. */
export function per100k(r: { hits: number; execs: number }): number {
  return (1e5 * r.hits) / Math.max(1, r.execs);
}

/** Runs `seeds` x `runs` generated executions under `opts` and counts the target's hits. */
function countHits(base: Harness, race: Race, opts: Partial<FuzzOptions>, seeds: number, runs: number): { execs: number; hits: number; steps: number } {
  let execs = 0;
  let hits = 0;
  let steps = 0;
  const counting = observedHarness(base, (out) => {
    execs++;
    steps += out.steps - out.startStep;
    if (out.failure !== null && race.target.test(signatureOf(out.failure))) hits++;
  });
  const cfg = base.configure(race.off, race.variants);
  for (let seed = 1; seed <= seeds; seed++) {
    new Fuzzer(counting, cfg, { ...opts, seed, runs, statusEvery: 1e9, syncEvery: 1e9 }, () => undefined).run();
  }
  return { execs, hits, steps };
}

/** The kinds' rates on each race, the prior's mix and the best kind. */
export function kindRates(races: readonly Race[], seeds: number, runs: number, log: (s: string) => void = console.log): RaceKinds[] {
  const out: RaceKinds[] = [];
  for (const race of races) {
    const base = findHarness(race.harness)!;
    // A fresh engine's schedule shares are the prior's, and its kinds' names are the engine's.
    const prior = new Fuzzer(base, base.configure(race.off, race.variants), {}, () => undefined).scheduleShares();
    const kinds: KindRate[] = [];
    const add = (kind: string, share: number | null, opts: Partial<FuzzOptions>): void => {
      const c = countHits(base, race, opts, seeds, runs);
      const r: KindRate = { kind, prior: share, execs: c.execs, hits: c.hits, stepsPerExec: c.steps / Math.max(1, c.execs) };
      kinds.push(r);
      log(`  ${race.id.padEnd(10)} ${kind.padEnd(34)} ${share === null ? 'baseline' : `${(100 * share).toFixed(1)}%`.padStart(8)}  ${String(r.hits).padStart(5)} hits / ${r.execs}  ${per100k(r).toFixed(1).padStart(7)} per 100k  ${r.stepsPerExec.toFixed(0)} steps/exec`);
    };
    prior.forEach((p, i) => {
      // Only kind i: the engine without feedback makes every input a generated one, of a kind drawn from this prior.
      const onlyThis = DEFAULT_FUZZ_OPTIONS.schedulePrior.map((_, j) => (j === i ? 1 : 0));
      add(p.schedule, p.share, { strategy: 'bytes', feedback: false, schedulePrior: onlyThis });
    });
    add('random walk (baseline)', null, { strategy: 'random', feedback: false });
    add('PCT d=3 (baseline)', null, { strategy: 'pct', feedback: false });
    let mix = 0;
    let best = kinds[0]!;
    for (const k of kinds) {
      if (k.prior !== null) mix += k.prior * per100k(k);
      if (per100k(k) > per100k(best)) best = k;
    }
    const r: RaceKinds = { race: race.id, kinds, mixPer100k: mix, best: { kind: best.kind, per100k: per100k(best) } };
    out.push(r);
    log(`  ${race.id.padEnd(10)} the prior's mix: ${mix.toFixed(1)} per 100k; best: ${best.kind}, ${r.best.per100k.toFixed(1)} per 100k (${mix > 0 ? `${(r.best.per100k / mix).toFixed(2)}x the mix` : 'the mix hits nothing'})`);
  }
  return out;
}

/** The floor of every kind's weight in logOptimalPrior: no kind is dropped (a race not in the table may want it). */
export const PRIOR_FLOOR = 0.03;

/**
 * The prior weights (summing to 1, each at least `floor`) that maximise the
 * mean over `races` of the log of the prior's mix — the log-optimal
 * portfolio of schedule kinds: doubling one race's rate is worth as much as
 * doubling any other's, so no race is given up for another. Rates are
 * smoothed by half a hit, so a kind that hit nothing in the sample is not
 * taken as hopeless. Solved by multiplicative (exponentiated-gradient)
 * steps, each followed by raising the kinds under the floor to it and
 * scaling the rest. How SCHEDULE_PRIOR was chosen (session 13).
 */
export function logOptimalPrior(races: readonly RaceKinds[], floor = PRIOR_FLOOR, steps = 5000): number[] {
  const kinds = races[0]!.kinds.filter((k) => k.prior !== null).length;
  const rate = races.map((r) => r.kinds.slice(0, kinds).map((k) => (k.hits + 0.5) / Math.max(1, k.execs)));
  let w = new Array<number>(kinds).fill(1 / kinds);
  for (let it = 0; it < steps; it++) {
    const grad = new Array<number>(kinds).fill(0);
    for (const r of rate) {
      const mix = r.reduce((s, x, i) => s + x * w[i]!, 0);
      for (let i = 0; i < kinds; i++) grad[i]! += r[i]! / mix / rate.length;
    }
    w = w.map((x, i) => x * grad[i]!);
    const sum = w.reduce((a, b) => a + b, 0);
    w = w.map((x) => x / sum);
    // Raise the kinds under the floor to it and scale the others into the rest (repeated: scaling may push another under).
    for (let k = 0; k < kinds; k++) {
      const low = w.map((x) => x < floor);
      const rest = w.reduce((s, x, i) => s + (low[i] ? 0 : x), 0);
      const free = 1 - floor * low.filter(Boolean).length;
      w = w.map((x, i) => (low[i] ? floor : (x * free) / rest));
      if (!w.some((x) => x < floor - 1e-15)) break;
    }
  }
  return w;
}
