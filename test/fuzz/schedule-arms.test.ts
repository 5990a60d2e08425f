import test from 'ava';
import { ScheduleArms } from '../../src/fuzz/schedule-arms';

const RATES = [4, 64, 255];

/** Prior weights: `p` for the preemptions shape, the rest even over `rates`. */
function prior(p: number, rates: readonly number[]): number[] {
  return [p, ...rates.map(() => (1 - p) / Math.max(1, rates.length))];
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

test('arms: the preemptions shape, then one random-switch arm per rate', (t) => {
  const a = new ScheduleArms(prior(0.25, RATES), RATES, true);
  t.deepEqual(a.arms, [{ shape: 'preemptions' }, { shape: 'random-switches', rate: 4 }, { shape: 'random-switches', rate: 64 }, { shape: 'random-switches', rate: 255 }]);
});

test('until something fails the prior shares hold exactly, however often each arm ran', (t) => {
  const a = new ScheduleArms(prior(0.25, RATES), RATES, true);
  t.deepEqual(a.shares(), [0.25, 0.25, 0.25, 0.25]);
  for (let i = 0; i < 500; i++) a.record(i % 3, false);
  t.deepEqual(a.shares(), [0.25, 0.25, 0.25, 0.25]);
  // pick() follows the shares: u in quarter i picks arm i.
  t.deepEqual([0, 0.3, 0.6, 0.9].map((u) => a.pick(u)), [0, 1, 2, 3]);
});

test('an arm that fails more often than the others gains share; one that never fails loses it', (t) => {
  const a = new ScheduleArms(prior(0.25, RATES), RATES, true);
  for (let i = 0; i < 1000; i++) {
    a.record(0, false);
    a.record(1, i % 100 === 0); // 1%
    a.record(2, i % 20 === 0); // 5%
    a.record(3, i % 10 === 0); // 10%
  }
  const s = a.shares();
  t.true(Math.abs(sum(s) - 1) < 1e-9);
  // The arm that never fails keeps the exploration floor, a fifth of its prior share, and little more.
  t.true(s[0]! >= 0.05 && s[0]! < 0.07, `never failing: ${s[0]}`);
  t.true(s[0]! < s[1]! && s[1]! < s[2]! && s[2]! < s[3]!, s.join(' '));
  t.true(s[3]! > 0.4, `failing most: ${s[3]}`);
});

test('not adaptive: failures do not move the shares', (t) => {
  const a = new ScheduleArms(prior(0.5, RATES), RATES, false);
  for (let i = 0; i < 100; i++) a.record(3, true);
  const s = a.shares();
  t.true(Math.abs(s[0]! - 0.5) < 1e-12);
  for (const x of s.slice(1)) t.true(Math.abs(x - 0.5 / 3) < 1e-12);
});

test('a share of 0 is never picked, even at the top of the unit interval', (t) => {
  const a = new ScheduleArms(prior(0, RATES), RATES, true);
  for (let k = 0; k < 1000; k++) t.not(a.pick(k / 1000), 0);
  t.is(a.pick(1 - Number.EPSILON), 3);
  const only = new ScheduleArms(prior(1, []), [], true);
  t.is(only.pick(0.999999), 0);
});

test('an arm shares its neighbours\' counts: an untried rate next to a failing one gains share', (t) => {
  const a = new ScheduleArms(prior(0.25, [4, 16, 64, 255]), [4, 16, 64, 255], true);
  for (let i = 0; i < 300; i++) {
    a.record(0, false);
    a.record(1, false);
    a.record(2, false);
    a.record(4, i % 5 === 0);
  }
  const s = a.shares();
  // Arm 3 (rate 64) never ran, but its neighbour rate 255 fails at 20%.
  t.true(s[3]! > s[2]! && s[3]! > s[1]!, s.join(' '));
});
