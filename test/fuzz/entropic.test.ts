/**
 * The entropic power schedule's parts: the weight tree (picks and updates
 * against a plain prefix-sum reference), the rare set (every new slot
 * joins; cut back to the rarest only once its most frequent member passed
 * the threshold) and the energy (the entropy of what an entry's children
 * hit: highest for a new entry, falling for one whose children hit nothing
 * rare, higher for varied rare hits than for one repeated).
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { Entropic, LocalIncidence, MAX_MUTATION_FACTOR } from '../../src/fuzz/entropic';
import { WeightTree } from '../../src/fuzz/weight-tree';

/** The first index whose running sum exceeds x (the reference for WeightTree.find). */
function linearFind(ws: readonly number[], x: number): number {
  let s = 0;
  for (let i = 0; i < ws.length; i++) {
    s += ws[i]!;
    if (s > x) return i;
  }
  return ws.length - 1;
}

test('weight tree: pushes, sets and rebuilds keep the total and the picks of a prefix-sum array', (t) => {
  const rng = seedrandom.xor4096('weight-tree');
  const tree = new WeightTree();
  const ref: number[] = [];
  for (let step = 0; step < 3000; step++) {
    const r = rng();
    if (r < 0.4 || ref.length === 0) {
      // Integer-valued weights keep every sum exact, so picks must agree exactly.
      const w = Math.floor(rng() * 5);
      tree.push(w);
      ref.push(w);
    } else if (r < 0.9) {
      const i = Math.floor(rng() * ref.length);
      const w = Math.floor(rng() * 7);
      tree.set(i, w);
      ref[i] = w;
    } else {
      tree.rebuild((i) => ref[i]! + 1);
      for (let i = 0; i < ref.length; i++) ref[i]! += 1;
    }
    const total = ref.reduce((a, b) => a + b, 0);
    if (tree.total() !== total) return t.fail(`step ${step}: total ${tree.total()}, expected ${total}`);
    if (total > 0) {
      for (let k = 0; k < 3; k++) {
        const x = Math.floor(rng() * total);
        if (tree.find(x) !== linearFind(ref, x)) return t.fail(`step ${step}: find(${x}) = ${tree.find(x)}, expected ${linearFind(ref, x)}`);
      }
    }
  }
  t.is(tree.size, ref.length);
  t.true(ref.length > 1000);
});

test('weight tree: an entry of weight 0 is never picked; picks follow the weights', (t) => {
  const tree = new WeightTree();
  for (const w of [1, 0, 3, 0, 4]) tree.push(w);
  const counts = [0, 0, 0, 0, 0];
  const n = 8000;
  for (let k = 0; k < n; k++) counts[tree.find(((k + 0.5) / n) * tree.total())]!++;
  t.deepEqual(counts, [1000, 0, 3000, 0, 4000]);
  // Rounding past the total lands on the last entry with weight.
  t.is(tree.find(tree.total()), 4);
});

test('rare set: every slot joins when first hit and stays while all are rare', (t) => {
  const e = new Entropic(64, 4, 3);
  for (let k = 0; k < 3; k++) e.observe([1, 2, 3, 4, 5, 6], null);
  // 6 slots > 4, but none was hit in more than 3 executions: all stay.
  t.is(e.rareCount, 6);
  t.is(e.freq[1], 3);
});

test('rare set: once its most frequent member passes the threshold, a new slot pushes out the most frequent ones', (t) => {
  const e = new Entropic(64, 4, 3);
  // Slots 1 and 2 hit in 10 executions, 3..6 in 2.
  for (let k = 0; k < 10; k++) e.observe(k < 2 ? [1, 2, 3, 4, 5, 6] : [1, 2], null);
  t.is(e.rareCount, 6);
  const gen = e.generation;
  e.observe([7], null);
  // 1 and 2 (10 executions each) leave; the four rarest stay, and 7 joins.
  t.false(e.rareSlot(1));
  t.false(e.rareSlot(2));
  for (const s of [3, 4, 5, 6, 7]) t.true(e.rareSlot(s), `slot ${s}`);
  t.is(e.rareCount, 5);
  t.true(e.generation > gen);
  // A slot that left never rejoins.
  e.observe([1], null);
  t.false(e.rareSlot(1));
});

test('rare set: a slot that leaves is dropped from every entry\'s counts, with its sums', (t) => {
  const e = new Entropic(64, 1, 1);
  const a = e.newLocal();
  e.observe([1], a);
  e.observe([1, 2], a);
  t.deepEqual([...a.counts.entries()].sort(), [[1, 2], [2, 1]]);
  const before = { sum: a.sum, incidence: a.incidence };
  t.is(before.incidence, 3 + 2);
  // Slot 1 (2 executions > threshold 1) leaves when a third slot joins a set of 2 > 1.
  e.observe([3], null);
  t.false(a.counts.has(1));
  t.is(a.incidence, 2);
  t.true(Math.abs(a.sum - 2 * Math.log(2)) < 1e-12);
});

test('energy: a new entry has ln(rare + 1), the most; children that hit nothing rare lower it', (t) => {
  const e = new Entropic(1024);
  e.observe([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], null);
  const fresh = e.newLocal();
  t.true(Math.abs(e.energy(fresh) - Math.log(11)) < 1e-12);
  const idle = e.newLocal();
  let last = e.energy(idle);
  for (let k = 0; k < 50; k++) {
    e.observe([], idle);
    const now = e.energy(idle);
    t.true(now < last);
    last = now;
  }
  t.true(e.energy(idle) < 0.5 * e.energy(fresh));
});

test('energy: children that hit varied rare slots keep more of it than children that hit one', (t) => {
  const e = new Entropic(1024);
  e.observe(Array.from({ length: 40 }, (_, i) => i + 1), null);
  const varied = e.newLocal();
  const same = e.newLocal();
  for (let k = 0; k < 20; k++) {
    e.observe([1 + (k % 20)], varied);
    e.observe([1], same);
  }
  t.true(e.energy(varied) > e.energy(same));
  t.is(varied.children, 20);
  t.is(same.children, 20);
});

test('energy: the incremental sums equal the formula over the counts', (t) => {
  const e = new Entropic(256);
  const l: LocalIncidence = e.newLocal();
  const rng = seedrandom.xor4096('entropic-sums');
  for (let k = 0; k < 500; k++) {
    const slots = Array.from({ length: 5 }, () => 1 + Math.floor(rng() * 200));
    e.observe([...new Set(slots)], rng() < 0.7 ? l : null);
  }
  let sum = 0;
  let inc = 0;
  for (const c of l.counts.values()) {
    sum += (c + 1) * Math.log(c + 1);
    inc += c + 1;
  }
  t.true(Math.abs(l.sum - sum) < 1e-6);
  t.is(l.incidence, inc);
});

test('an entry mutated far more than the average gets no weight', (t) => {
  const e = new Entropic(64);
  const busy = e.newLocal();
  const quiet = e.newLocal();
  e.observe([1, 2, 3], null);
  for (let k = 0; k < 10 * MAX_MUTATION_FACTOR; k++) e.observe([], busy);
  // 200 children of 200 over 100 entries: busy has 200 / 20 = 10 > 2 on average.
  t.is(e.weight(busy, 100), 0);
  t.true(e.weight(quiet, 100) > 0);
  t.true(e.weight(busy, 2) > 0);
});
