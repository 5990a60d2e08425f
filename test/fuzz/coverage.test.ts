/**
 * Coverage: libFuzzer's hit-count buckets and the global map's novelty
 * (new (slot, bucket) pairs only; merged only on commit).
 */
import test from 'ava';
import { GlobalCoverage, SlotArena, bucketOf } from '../../src/fuzz/coverage';
import { FeatureMap } from '../../src/runtime';

test('bucketOf at every boundary', (t) => {
  const expected: [number, number][] = [
    [0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [7, 4], [8, 5], [15, 5], [16, 6],
    [31, 6], [32, 7], [127, 7], [128, 8], [255, 8], [256, 8], [100_000, 8],
  ];
  for (const [hits, bucket] of expected) t.is(bucketOf(hits), bucket, `bucketOf(${hits})`);
});

test('bucketOf is monotonic and onto 0..8 over 0..255', (t) => {
  const seen = new Set<number>();
  for (let i = 1; i < 256; i++) {
    t.true(bucketOf(i) >= bucketOf(i - 1));
    seen.add(bucketOf(i));
  }
  seen.add(bucketOf(0));
  t.deepEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

function map(hits: Record<number, number>): FeatureMap {
  const fm = new FeatureMap(4);
  for (const [i, n] of Object.entries(hits)) for (let k = 0; k < n; k++) fm.hit(Number(i));
  return fm;
}

test('a fresh map: every hit slot is new; commit merges it', (t) => {
  const g = new GlobalCoverage(16);
  const fm = map({ 0: 1, 5: 3, 9: 200 });
  t.is(g.novelty(fm, true), 3);
  t.is(g.slots, 3);
  t.is(g.features, 1 + 3 + 8);
  t.is(g.max[0], 1);
  t.is(g.max[5], 3);
  t.is(g.max[9], 8);
  // The same execution again is not new.
  t.is(g.novelty(fm, true), 0);
  t.is(g.slots, 3);
  t.is(g.features, 12);
});

test('without commit nothing is merged', (t) => {
  const g = new GlobalCoverage(16);
  const fm = map({ 2: 1, 3: 1 });
  t.is(g.novelty(fm, false), 2);
  t.is(g.novelty(fm, false), 2);
  t.is(g.slots, 0);
  t.is(g.features, 0);
  t.deepEqual(Array.from(g.max), new Array(16).fill(0));
  t.is(g.novelty(fm, true), 2);
  t.is(g.novelty(fm, false), 0);
});

test('only a higher bucket counts: more hits in the same bucket are not new', (t) => {
  const g = new GlobalCoverage(16);
  g.novelty(map({ 1: 4 }), true); // bucket 4 (4-7)
  t.is(g.novelty(map({ 1: 7 }), true), 0, 'still bucket 4');
  t.is(g.novelty(map({ 1: 2 }), true), 0, 'a lower bucket is not new');
  t.is(g.max[1], 4);
  t.is(g.novelty(map({ 1: 8 }), true), 1, 'bucket 5');
  t.is(g.max[1], 5);
  t.is(g.slots, 1, 'a slot counts once');
  t.is(g.features, 5, 'features is the sum of the max buckets');
});

test('novelty counts new pairs only among several slots', (t) => {
  const g = new GlobalCoverage(16);
  g.novelty(map({ 0: 1, 1: 1 }), true);
  // slot 0 unchanged, slot 1 climbs, slot 2 is new, slot 3 not hit.
  t.is(g.novelty(map({ 0: 1, 1: 2, 2: 1 }), false), 2);
  t.is(g.novelty(map({ 0: 1, 1: 2, 2: 1 }), true), 2);
  t.is(g.slots, 3);
  t.is(g.features, 1 + 2 + 1);
});

test('hitSlots lists the slots hit, in first-hit order, as a copy', (t) => {
  const fm = map({ 9: 1, 2: 255, 15: 3 });
  const slots = GlobalCoverage.hitSlots(fm);
  t.deepEqual([...slots].sort((a, b) => a - b), [2, 9, 15]);
  fm.clear();
  fm.hit(4);
  t.deepEqual([...slots].sort((a, b) => a - b), [2, 9, 15], 'not a view of the map');
  t.deepEqual([...GlobalCoverage.hitSlots(map({}))], []);
});

test('FeatureMap.hit saturates at 255 (the top bucket)', (t) => {
  const fm = new FeatureMap(4);
  for (let i = 0; i < 300; i++) fm.hit(3);
  t.is(fm.hits[3], 255);
  const g = new GlobalCoverage(16);
  t.is(g.novelty(fm, true), 1);
  t.is(g.max[3], 8);
});

test('novelty lists the new slots when asked: a new slot or a higher bucket, not a same-bucket repeat', (t) => {
  const g = new GlobalCoverage(16);
  const out: number[] = [99];
  t.is(g.novelty(map({ 1: 1, 4: 5 }), true, out), 2);
  t.deepEqual(out.sort(), [1, 4]);
  // Slot 1 rises to bucket 2, slot 4 stays in bucket 4 (4-7), slot 7 is new.
  t.is(g.novelty(map({ 1: 2, 4: 6, 7: 1 }), true, out), 2);
  t.deepEqual(out.sort(), [1, 7]);
  t.is(g.novelty(map({ 1: 2 }), true, out), 0);
  t.deepEqual(out, []);
});

test('SlotArena: each copy keeps its own contents across chunks, and a list longer than a chunk gets a chunk of its own', (t) => {
  const arena = new SlotArena(8);
  const lists = [[1, 2, 3], [4, 5, 6, 7], [8, 9], [10], Array.from({ length: 20 }, (_, i) => 100 + i), [11, 12, 13]];
  const copies = lists.map((l) => arena.copy(Uint32Array.from(l)));
  lists.forEach((l, i) => t.deepEqual([...copies[i]!], l, `list ${i}`));
  // The first two share a chunk (3 + 4 <= 8); the third does not fit there.
  t.is(copies[0]!.buffer, copies[1]!.buffer);
  t.not(copies[2]!.buffer, copies[1]!.buffer);
  t.is(copies[4]!.length, 20);
  // Through hitSlots: a copy in the arena, not a view of the map.
  const fm = map({ 9: 1, 2: 255 });
  const slots = GlobalCoverage.hitSlots(fm, arena);
  fm.clear();
  fm.hit(4);
  t.deepEqual([...slots].sort((a, b) => a - b), [2, 9]);
  t.deepEqual([...arena.copy(new Uint32Array(0))], []);
});
