/**
 * `npm run bench -- compare --variant JSON [--variant JSON ...]`: the
 * default engine against variants of it, on the races, with the same
 * statistics as the race table. Every decision about the engine's search
 * (schedule priors, input shares, extensions) was taken this way — trials
 * of each variant interleaved seed by seed in one process, the ratio of
 * medians with a bootstrap interval — first in scratch scripts, now here,
 * so that a later session can repeat a measurement or make a new one.
 *
 * A variant is a JSON object of engine options (FuzzOptions) that change
 * the search: the input shares, the schedule prior and whether failures
 * steer it, the extensions, the weight of context-switch features in
 * corpus scheduling, the strategy and feedback. Unknown options, and
 * values of the wrong type, are refused.
 */
import { InvalidArgumentError } from 'commander';
import { DEFAULT_FUZZ_OPTIONS, type FuzzOptions, INPUT_KINDS, type InputKind, POWER_SCHEDULES, type PowerSchedule, STRATEGIES, type Strategy } from '../src/fuzz/engine';
import { type Race, type Trial, median, raceTrials, toolOptions, trialWithOptions } from './fuzz-bench';
import { type MedianRatio, describeRatio, medianRatio } from './median-ratio';

/** The engine options a variant may set: the ones that change the search, none that change where output goes. */
export const VARIANT_KEYS = ['inputShares', 'schedulePrior', 'adaptSchedules', 'extendTries', 'extendShare', 'extendNew', 'switchRarity', 'strategy', 'feedback', 'powerSchedule', 'reduceInputs', 'unfavoredWeight', 'startInputs', 'atomicityFeatures', 'costExponent', 'alikeRetries', 'skipSerialRepeats'] as const;
type VariantKey = (typeof VARIANT_KEYS)[number];

export interface Variant {
  /** How it prints: 'default', or its JSON as given (compacted). */
  readonly name: string;
  readonly opts: Partial<Pick<FuzzOptions, VariantKey>>;
}

export const DEFAULT_VARIANT: Variant = { name: 'default', opts: {} };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegative(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${key}: expected a number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * A variant from its JSON text. `inputShares` may give some kinds only (the
 * others keep their default share); `schedulePrior` must give every kind of
 * schedule.
 */
export function parseVariant(text: string): Variant {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`variant is not JSON: ${text}`);
  }
  if (!isRecord(v)) throw new InvalidArgumentError(`variant must be a JSON object of engine options, got ${text}`);
  const opts: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    if (!(VARIANT_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`unknown engine option '${key}' in a variant (known: ${VARIANT_KEYS.join(', ')})`);
    }
    const k = key as VariantKey;
    if (k === 'inputShares') {
      if (!isRecord(value)) throw new InvalidArgumentError(`inputShares: expected an object of shares (${INPUT_KINDS.join(', ')})`);
      const shares: Record<InputKind, number> = { ...DEFAULT_FUZZ_OPTIONS.inputShares };
      for (const [kind, share] of Object.entries(value)) {
        if (!(INPUT_KINDS as readonly string[]).includes(kind)) throw new InvalidArgumentError(`inputShares: unknown kind '${kind}' (known: ${INPUT_KINDS.join(', ')})`);
        shares[kind as InputKind] = nonNegative(`inputShares.${kind}`, share);
      }
      if (INPUT_KINDS.every((kind) => shares[kind] === 0)) throw new InvalidArgumentError('inputShares: every share is 0');
      opts[k] = shares;
    } else if (k === 'schedulePrior') {
      const n = DEFAULT_FUZZ_OPTIONS.schedulePrior.length;
      if (!Array.isArray(value) || value.length !== n) throw new InvalidArgumentError(`schedulePrior: expected an array of ${n} weights (preemptions, each random rate, PCT)`);
      opts[k] = value.map((w, i) => nonNegative(`schedulePrior[${i}]`, w));
    } else if (k === 'strategy') {
      if (!(STRATEGIES as readonly unknown[]).includes(value)) throw new InvalidArgumentError(`strategy: expected one of ${STRATEGIES.join(', ')}`);
      opts[k] = value as Strategy;
    } else if (k === 'powerSchedule') {
      if (!(POWER_SCHEDULES as readonly unknown[]).includes(value)) throw new InvalidArgumentError(`powerSchedule: expected one of ${POWER_SCHEDULES.join(', ')}`);
      opts[k] = value as PowerSchedule;
    } else if (k === 'adaptSchedules' || k === 'feedback' || k === 'reduceInputs' || k === 'atomicityFeatures' || k === 'skipSerialRepeats') {
      if (typeof value !== 'boolean') throw new InvalidArgumentError(`${k}: expected true or false`);
      opts[k] = value;
    } else {
      opts[k] = nonNegative(k, value);
    }
  }
  return { name: JSON.stringify(v), opts: opts as Variant['opts'] };
}

export interface CompareResult {
  readonly seeds: readonly number[];
  readonly cap_seconds: number;
  readonly variants: readonly Variant[];
  readonly races: readonly { race: string; variant: string; trials: Trial[]; median_seconds: number | null; median_execs: number | null; found: number }[];
  /** Per race and variant (not the default): the default's median over the variant's, in time and in executions (above 1: the variant is faster). */
  readonly comparisons: readonly { race: string; variant: string; seconds: MedianRatio; execs: MedianRatio }[];
}

/**
 * Runs every variant (the default engine first) on every race, interleaved
 * seed by seed as the race table's tools are, after one untimed warm-up
 * trial each; logs a line per variant and one per comparison.
 */
export async function compareVariants(races: readonly Race[], variants: readonly Variant[], seeds: readonly number[], cap: number,
  log: (s: string) => void = console.log,
  run: (race: Race, v: Variant, seed: number) => Trial = (race, v, seed) => trialWithOptions(race, { ...toolOptions('mmufuzz'), ...v.opts }, seed, cap)): Promise<CompareResult> {
  const all = [DEFAULT_VARIANT, ...variants];
  const names = all.map((_, i) => `${i}`);
  const rows: CompareResult['races'][number][] = [];
  const comparisons: CompareResult['comparisons'][number][] = [];
  for (const race of races) {
    for (const v of all) run(race, v, 1000);
    const trials = await raceTrials(race, names, seeds, [], cap, (i, seed) => run(race, all[Number(i)]!, seed));
    const mine = (i: number): Trial[] => trials.get(`${i}`)!;
    all.forEach((v, i) => {
      const t = mine(i);
      const row = { race: race.label, variant: v.name, trials: t, median_seconds: median(t.map((x) => x.seconds)), median_execs: median(t.map((x) => x.execs)), found: t.filter((x) => x.seconds !== null).length };
      rows.push(row);
      log(`  ${race.label.padEnd(40)} found ${row.found}/${seeds.length}  median ${row.median_seconds === null ? 'not found' : `${row.median_seconds.toFixed(4)} s`}  ${row.median_execs ?? '-'} execs  ${v.name}`);
    });
    for (let i = 1; i < all.length; i++) {
      const seconds = medianRatio(mine(i).map((x) => x.seconds), mine(0).map((x) => x.seconds));
      const execs = medianRatio(mine(i).map((x) => x.execs), mine(0).map((x) => x.execs));
      comparisons.push({ race: race.label, variant: all[i]!.name, seconds, execs });
      log(`  ${''.padEnd(40)} default median / variant ${i}'s: time ${describeRatio(seconds, 'variant')}; executions ${describeRatio(execs, 'variant')}`);
    }
  }
  return { seeds, cap_seconds: cap, variants: all, races: rows, comparisons };
}
