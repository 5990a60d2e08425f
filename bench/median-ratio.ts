/**
 * How much faster one tool finds a race than another, with the uncertainty
 * of that number: the ratio of the two medians of time to the first crash
 * (baseline's median over mmufuzz's: above 1, mmufuzz is faster) and a
 * percentile bootstrap confidence interval for it. At the seed races' scale
 * (7–70 ms for every tool) a 1.1–1.6x difference between medians of 101
 * seeds changed sides between two samples of seeds (bench/README.md,
 * session 10); the interval says which differences a sample settles.
 *
 * The two tools' trials are independent samples (each tool's seed n drives
 * its own generator, so seed n of one tool says nothing about seed n of the
 * other), so each is resampled on its own. A trial that found nothing
 * counts as infinitely slow: a median that is not found is infinite, and so
 * is a ratio over it. Resampling draws from seedrandom, seeded, so the same
 * trials always give the same interval.
 */
import seedrandom from 'seedrandom';

export interface MedianRatio {
  /** median(baseline) / median(mmufuzz); Infinity when only mmufuzz's median is finite, 0 the other way round, null when neither is. */
  readonly ratio: number | null;
  /** The 2.5th and 97.5th percentiles of the bootstrapped ratio (same conventions). */
  readonly lo: number | null;
  readonly hi: number | null;
  /** 'faster' (the whole interval above 1), 'slower' (below 1) or 'unsettled' (it contains 1, or a median is missing). */
  readonly verdict: 'faster' | 'slower' | 'unsettled';
}

/** The median of `v` (sorted ascending; Infinity allowed). */
function sortedMedian(v: ArrayLike<number>): number {
  const n = v.length;
  return n % 2 === 1 ? v[(n - 1) / 2]! : (v[n / 2 - 1]! + v[n / 2]!) / 2;
}

/** a / b over the extended reals, null where it has no value (both infinite, or both zero). */
function ratioOf(a: number, b: number): number | null {
  if (!Number.isFinite(a) && !Number.isFinite(b)) return null;
  if (b === 0) return a === 0 ? null : Infinity;
  return a / b;
}

/** The median of a resample of `v` drawn with `rng` into `buf`. */
function resampledMedian(v: readonly number[], rng: seedrandom.PRNG, buf: Float64Array): number {
  for (let i = 0; i < v.length; i++) buf[i] = v[Math.floor(rng() * v.length)]!;
  buf.sort();
  return sortedMedian(buf);
}

/**
 * The ratio of medians median(baseline) / median(mine) and its 95%
 * percentile bootstrap interval over `resamples` resamples. Trials are times
 * (or execution counts); null means not found. Either sample empty: no value.
 */
export function medianRatio(mine: readonly (number | null)[], baseline: readonly (number | null)[], resamples = 2000, seed = 1): MedianRatio {
  const a = mine.map((x) => x ?? Infinity).sort((x, y) => x - y);
  const b = baseline.map((x) => x ?? Infinity).sort((x, y) => x - y);
  if (a.length === 0 || b.length === 0) return { ratio: null, lo: null, hi: null, verdict: 'unsettled' };
  const ratio = ratioOf(sortedMedian(b), sortedMedian(a));
  const rng = seedrandom.xor4096(`median-ratio:${seed}`);
  const bufA = new Float64Array(a.length);
  const bufB = new Float64Array(b.length);
  const boot: number[] = [];
  let undefinedDraws = 0;
  for (let i = 0; i < resamples; i++) {
    const r = ratioOf(resampledMedian(b, rng, bufB), resampledMedian(a, rng, bufA));
    if (r === null) undefinedDraws++;
    else boot.push(r);
  }
  // A draw where neither median is finite says nothing about the ratio; more than 5% of them and no interval is given.
  if (boot.length === 0 || undefinedDraws > 0.05 * resamples) return { ratio, lo: null, hi: null, verdict: 'unsettled' };
  boot.sort((x, y) => x - y);
  const at = (q: number): number => boot[Math.min(boot.length - 1, Math.max(0, Math.floor(q * boot.length)))]!;
  const lo = at(0.025);
  const hi = at(0.975);
  const verdict = lo > 1 ? 'faster' : hi < 1 ? 'slower' : 'unsettled';
  return { ratio, lo, hi, verdict };
}

/** One line: "1.19x (95% CI 1.02–1.41): mmufuzz faster" (`subject`: who "mine" is). */
export function describeRatio(r: MedianRatio, subject = 'mmufuzz'): string {
  const f = (x: number | null): string => (x === null ? '-' : Number.isFinite(x) ? `${x.toFixed(2)}x` : 'inf');
  const what = r.verdict === 'faster' ? `${subject} faster` : r.verdict === 'slower' ? `${subject} slower` : 'not settled by these seeds';
  return `${f(r.ratio)} (95% CI ${f(r.lo)}–${f(r.hi)}): ${what}`;
}
