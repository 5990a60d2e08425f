import test from 'ava';
import seedrandom from 'seedrandom';
import { describeRatio, medianRatio } from '../../bench/median-ratio';

/** n draws of an exponential time to the first crash with the given median (a memoryless search), seeded. */
function times(n: number, med: number, seed: string): number[] {
  const rng = seedrandom.xor4096(seed);
  return Array.from({ length: n }, () => (-Math.log(1 - rng()) * med) / Math.LN2);
}

test('the ratio is the baseline median over mmufuzz median, and the interval contains it', (t) => {
  const r = medianRatio([1, 2, 3], [2, 4, 6, 8]);
  t.is(r.ratio, 5 / 2);
  t.true(r.lo! <= r.ratio! && r.ratio! <= r.hi!);
});

test('samples far apart settle the side; the same distribution does not', (t) => {
  const fast = times(101, 0.01, 'a');
  const slow = times(101, 0.03, 'b');
  t.is(medianRatio(fast, slow).verdict, 'faster');
  t.is(medianRatio(slow, fast).verdict, 'slower');
  // Two samples of one distribution: the interval must contain 1 (checked on several pairs).
  for (const k of ['c', 'd', 'e', 'f']) {
    const r = medianRatio(times(101, 0.01, `${k}1`), times(101, 0.01, `${k}2`));
    t.is(r.verdict, 'unsettled', describeRatio(r));
    t.true(r.lo! < 1 && r.hi! > 1);
  }
});

test('the interval narrows with more seeds', (t) => {
  const small = medianRatio(times(31, 0.01, 'g'), times(31, 0.015, 'h'));
  const big = medianRatio(times(1001, 0.01, 'g'), times(1001, 0.015, 'h'));
  t.true(big.hi! - big.lo! < small.hi! - small.lo!, `${describeRatio(small)} vs ${describeRatio(big)}`);
  t.is(big.verdict, 'faster', describeRatio(big));
});

test('trials that found nothing count as infinitely slow', (t) => {
  // A baseline that never found it: an infinite ratio, settled.
  const never = medianRatio([0.5, 0.6, 0.7, 0.8, 0.9], [null, null, null, null, null]);
  t.is(never.ratio, Infinity);
  t.is(never.verdict, 'faster');
  t.regex(describeRatio(never), /^inf \(95% CI inf–inf\): mmufuzz faster$/);
  // mmufuzz found it on a minority of seeds only: its median is infinite, the ratio 0.
  const minority = medianRatio([0.5, 0.5, ...Array<null>(9).fill(null)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  t.is(minority.ratio, 0);
  t.is(minority.verdict, 'slower');
  // Neither median finite: no value, no interval.
  const neither = medianRatio([null, null, 1], [null, null, 2]);
  t.is(neither.ratio, null);
  t.is(neither.verdict, 'unsettled');
  t.is(medianRatio([], [1]).ratio, null);
});

test('the same trials always give the same interval, and another seed a close one', (t) => {
  const a = times(51, 0.01, 'i');
  const b = times(51, 0.015, 'j');
  t.deepEqual(medianRatio(a, b), medianRatio(a, b));
  const other = medianRatio(a, b, 2000, 7);
  const one = medianRatio(a, b);
  t.is(other.ratio, one.ratio);
  // Another resampling seed moves the ends by a few percent, not the verdict.
  t.true(Math.abs(other.lo! / one.lo! - 1) < 0.15 && Math.abs(other.hi! / one.hi! - 1) < 0.15, `${describeRatio(one)} / ${describeRatio(other)}`);
  t.is(other.verdict, one.verdict);
});
