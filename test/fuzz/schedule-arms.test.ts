import test from 'ava';
import { COUNTED_PER_SIGNATURE, FADE_EVERY, ScheduleArms } from '../../src/fuzz/schedule-arms';

const RATES = [4, 64, 255];

/** Prior weights: `p` for the preemptions shape, the rest even over `rates` (PCT, the last arm, gets none: its weight is missing). */
function prior(p: number, rates: readonly number[]): number[] {
  return [p, ...rates.map(() => (1 - p) / Math.max(1, rates.length))];
}

let sigs = 0;
/** A signature not seen before (each counts in full). */
function fresh(): string {
  return `WARN f${sigs++}: new`;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

test('arms: the preemptions shape, then one random-switch arm per rate, then PCT', (t) => {
  const a = new ScheduleArms(prior(0.25, RATES), RATES, true);
  t.deepEqual(a.arms, [{ shape: 'preemptions' }, { shape: 'random-switches', rate: 4 }, { shape: 'random-switches', rate: 64 }, { shape: 'random-switches', rate: 255 }, { shape: 'pct' }]);
});

test('PCT counts alone: failures of rate 255 next to it do not lift it, and its own do not lift rate 255', (t) => {
  const a = new ScheduleArms([0.2, 0.2, 0.2, 0.2, 0.2], RATES, true);
  for (let i = 0; i < 300; i++) {
    for (let k = 0; k < 4; k++) a.record(k, k === 3 && i % 5 === 0 ? fresh() : null);
  }
  // PCT never ran and pools with nobody: its lift stays 1. Rate 64 pools rate 255's failures and gains more;
  // had PCT pooled with rate 255 (its neighbour in the list), it would have gained more than rate 64.
  const s = a.shares();
  t.true(s[4]! < s[3]! && s[4]! < s[2]!, s.join(' '));
  const b = new ScheduleArms([0.2, 0.2, 0.2, 0.2, 0.2], RATES, true);
  for (let i = 0; i < 300; i++) {
    for (let k = 0; k < 5; k++) b.record(k, k === 4 && i % 5 === 0 ? fresh() : null);
  }
  const u = b.shares();
  t.true(u[4]! > 0.5, u.join(' '));
  t.true(Math.abs(u[3]! - u[0]!) < 1e-9, `rate 255 gains nothing from PCT: ${u.join(' ')}`);
});

test('until something fails the prior shares hold exactly, however often each arm ran', (t) => {
  const a = new ScheduleArms(prior(0.25, RATES), RATES, true);
  t.deepEqual(a.shares(), [0.25, 0.25, 0.25, 0.25, 0]);
  for (let i = 0; i < 500; i++) a.record(i % 3, null);
  t.deepEqual(a.shares(), [0.25, 0.25, 0.25, 0.25, 0]);
  // pick() follows the shares: u in quarter i picks arm i.
  t.deepEqual([0, 0.3, 0.6, 0.9].map((u) => a.pick(u)), [0, 1, 2, 3]);
});

test('an arm that fails more often than the others gains share; one that never fails loses it', (t) => {
  const a = new ScheduleArms(prior(0.25, RATES), RATES, true);
  for (let i = 0; i < 1000; i++) {
    a.record(0, null);
    a.record(1, i % 100 === 0 ? fresh() : null); // 1%
    a.record(2, i % 20 === 0 ? fresh() : null); // 5%
    a.record(3, i % 10 === 0 ? fresh() : null); // 10%
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
  for (let i = 0; i < 100; i++) a.record(3, fresh());
  const s = a.shares();
  t.true(Math.abs(s[0]! - 0.5) < 1e-12);
  for (const x of s.slice(1, 4)) t.true(Math.abs(x - 0.5 / 3) < 1e-12);
  t.is(s[4], 0);
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
    a.record(0, null);
    a.record(1, null);
    a.record(2, null);
    a.record(4, i % 5 === 0 ? fresh() : null);
  }
  const s = a.shares();
  // Arm 3 (rate 64) never ran, but its neighbour rate 255 fails at 20%.
  t.true(s[3]! > s[2]! && s[3]! > s[1]!, s.join(' '));
});

test('a recurring signature steers only while it is new; then the shares fade back to the prior', (t) => {
  const a = new ScheduleArms(prior(0.25, RATES), RATES, true);
  // One known finding recurs on arm 3 in every tenth execution.
  for (let i = 0; i < 2000; i++) {
    for (let k = 0; k < 3; k++) a.record(k, null);
    a.record(3, i % 10 === 0 ? 'INVARIANT known: recurs' : null);
  }
  const burst = a.shares();
  t.true(burst[3]! > 0.4, `while new: ${burst.join(' ')}`);
  // Only its first COUNTED_PER_SIGNATURE occurrences counted: it goes on recurring, and the shares return to the prior.
  for (let i = 0; i < 12 * FADE_EVERY; i++) {
    for (let k = 0; k < 3; k++) a.record(k, null);
    a.record(3, i % 10 === 0 ? 'INVARIANT known: recurs' : null);
  }
  const later = a.shares();
  for (const x of later.slice(0, 4)) t.true(Math.abs(x - 0.25) < 0.02, `faded: ${later.join(' ')}`);
  t.is(later[4], 0);
  // A new finding elsewhere pulls again.
  for (let i = 0; i < 400; i++) {
    for (let k = 1; k < 4; k++) a.record(k, null);
    a.record(0, i % 10 === 0 ? fresh() : null);
  }
  t.true(a.shares()[0]! > 0.4, a.shares().join(' '));
  t.is(COUNTED_PER_SIGNATURE, 20);
});
