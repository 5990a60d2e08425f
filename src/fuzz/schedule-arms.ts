/**
 * Which kind of schedule a new schedule gets (Mutator.generate and
 * Mutator.reschedule): the preemptions shape, random switches at one of
 * a few rates, or PCT priorities with depth 3 (the last arm). Races want different kinds — a lost update wants frequent
 * switches, a check-then-act across a long ioctl wants a few preemptions
 * that let the other side run to completion — and nothing observable before
 * a race's first crash tells which one a harness needs, except failures:
 * the schedules that make a harness fail at all are the ones that make it
 * race (on seed 000's harness, the crash rate of any signature rises from
 * 0.7% at rate 4/256 to 5.6% at 170/256, with the underflow WARN's rate).
 *
 * So each kind ("arm") is picked with its prior share times the square of
 * its failure lift, (failures + 1) / (expected failures + 1), where the
 * expected count is the arm's pulls at the pooled failure rate:
 *  - the arms are ordered by how often they switch (preemptions first, then
 *    the rates upwards), and a crash rate changes smoothly along that order,
 *    so an arm's counts include its two neighbours' (three times the data:
 *    a few dozen failures are enough to move the shares); PCT is off that
 *    axis and counts alone;
 *  - until something fails every lift is 1 and the prior shares hold
 *    exactly;
 *  - a fifth of every pick still follows the prior, so no arm starves while
 *    a known crash keeps recurring under another.
 * Duplicates count, but only while a finding is new: the first
 * COUNTED_PER_SIGNATURE occurrences of each signature, and all counts fade
 * (times FADE every FADE_EVERY executions). So a new finding pulls the
 * shares toward the schedules that reach it — on seed 000's harness the
 * lost update's invariants pull toward high rates, where its WARN is — and
 * an old one lets them return to the prior. Counting every recurrence for
 * ever let one frequent known finding own the shares: on `mmu` with every
 * switch on, the notifier race (`freed-page-mapped`, thousands of times a
 * minute) held rate 192 at 50%, and the APIC finding, which wants rates
 * 8-16, took a median 11.1 s to find (8 seeds); now 4.1 s (the prior
 * alone: 1.3 s), with seed 000's first-hit rate unchanged (bench/README.md).
 */
const EXPLORE = 0.2;
const EXPONENT = 2;
/** Occurrences of one signature that count as failures. */
export const COUNTED_PER_SIGNATURE = 20;
/** Every FADE_EVERY executions, every count is multiplied by FADE (counts from 10,000 executions ago weigh a tenth). */
export const FADE_EVERY = 1000;
export const FADE = 0.8;
export type ScheduleArm = { readonly shape: 'preemptions' } | { readonly shape: 'random-switches'; readonly rate: number } | { readonly shape: 'pct' };

export class ScheduleArms {
  readonly arms: readonly ScheduleArm[];
  private readonly prior: readonly number[];
  private readonly pulls: Float64Array;
  private readonly failures: Float64Array;
  private totalPulls = 0;
  private totalFailures = 0;
  /** Occurrences counted per signature (at most COUNTED_PER_SIGNATURE). */
  private readonly counted = new Map<string, number>();
  private sinceFade = 0;
  /** The current shares, recomputed in place before each pick (no allocation per execution). */
  private readonly current: Float64Array;

  /**
   * `prior`: a weight for the preemptions shape, then one per rate of
   * `rates`, then one for PCT (normalised; a missing weight is 0; a missing
   * or non-positive total falls back to even weights). `adaptive` false keeps the prior shares.
   */
  constructor(prior: readonly number[], rates: readonly number[], readonly adaptive: boolean) {
    this.arms = [{ shape: 'preemptions' }, ...rates.map((rate): ScheduleArm => ({ shape: 'random-switches', rate })), { shape: 'pct' }];
    const w = this.arms.map((_, i) => Math.max(0, prior[i] ?? 0));
    const total = w.reduce((a, b) => a + b, 0);
    this.prior = total > 0 ? w.map((x) => x / total) : w.map(() => 1 / w.length);
    this.pulls = new Float64Array(this.arms.length);
    this.failures = new Float64Array(this.arms.length);
    this.current = Float64Array.from(this.prior);
  }

  /** The current share of each arm (they sum to 1). */
  shares(): number[] {
    return Array.from(this.update());
  }

  /** Fills `current` with the shares and returns it. */
  private update(): Float64Array {
    const s = this.current;
    const n = this.arms.length;
    if (!this.adaptive || this.totalFailures === 0) {
      for (let i = 0; i < n; i++) s[i] = this.prior[i]!;
      return s;
    }
    const rate = this.totalFailures / this.totalPulls;
    let total = 0;
    // The preemptions shape and the rates lie on one axis (arms 0 .. n-2); PCT (the last arm) is off it and pools with no neighbour.
    const axisEnd = n - 2;
    for (let i = 0; i < n; i++) {
      let f = 0;
      let p = 0;
      const from = i > axisEnd ? i : Math.max(0, i - 1);
      const to = i > axisEnd ? i : Math.min(axisEnd, i + 1);
      for (let j = from; j <= to; j++) {
        f += this.failures[j]!;
        p += this.pulls[j]!;
      }
      s[i] = this.prior[i]! * ((f + 1) / (p * rate + 1)) ** EXPONENT;
      total += s[i]!;
    }
    for (let i = 0; i < n; i++) s[i] = EXPLORE * this.prior[i]! + (1 - EXPLORE) * (s[i]! / total);
    return s;
  }

  /** An arm index, drawn with `u` uniform in [0, 1). */
  pick(u: number): number {
    const s = this.update();
    let x = u;
    for (let i = 0; i < s.length; i++) {
      x -= s[i]!;
      if (x < 0) return i;
    }
    // Rounding left x at or just above 0: the last arm with a share.
    for (let i = s.length - 1; i >= 0; i--) if (s[i]! > 0) return i;
    return 0;
  }

  /** Records one execution of a schedule from arm `i`, and the signature of its failure (null: none). */
  record(i: number, failure: string | null): void {
    this.pulls[i]!++;
    this.totalPulls++;
    if (failure !== null) {
      const n = this.counted.get(failure) ?? 0;
      if (n < COUNTED_PER_SIGNATURE) {
        this.counted.set(failure, n + 1);
        this.failures[i]!++;
        this.totalFailures++;
      }
    }
    if (++this.sinceFade >= FADE_EVERY) {
      this.sinceFade = 0;
      for (let k = 0; k < this.arms.length; k++) {
        this.pulls[k]! *= FADE;
        this.failures[k]! *= FADE;
      }
      this.totalPulls *= FADE;
      this.totalFailures *= FADE;
    }
  }

}
