/**
 * The table scans that let model loops pass non-present entries within one
 * step (nextPresent, nextNonZero): they must find exactly the entries a
 * plain loop over all 512 would stop at, including entries that are
 * non-zero but not present (frozen, MMIO) and large pfns (SPTEs are doubles
 * above 2^32). And the unsync bitmap's set bits (bitmapIndexes, read in
 * 32-bit halves) against a bit-by-bit reading of the 64-bit words.
 */
import test from 'ava';
import { bitmapIndexes, bitmapPopcount } from '../../src/model/mmu-page';
import { PT_ENTRIES, REMOVED_SPTE, isPresent, makeLeaf, makeMmioSpte, makeNonLeaf, nextNonZero, nextPresent } from '../../src/model/spte';

function table(entries: Record<number, number>): Float64Array {
  const spt = new Float64Array(PT_ENTRIES);
  for (const [i, v] of Object.entries(entries)) spt[Number(i)] = v;
  return spt;
}

function walk(next: (spt: Float64Array, from: number) => number, spt: Float64Array): number[] {
  const out: number[] = [];
  for (let i = next(spt, 0); i < spt.length; i = next(spt, i + 1)) out.push(i);
  return out;
}

test('nextPresent stops at present entries only, in index order', (t) => {
  const spt = table({ 0: makeLeaf(7, true), 3: REMOVED_SPTE, 9: makeMmioSpte(9, 1), 200: makeNonLeaf(2 ** 30), 511: makeLeaf(2 ** 40, false) });
  t.deepEqual(walk(nextPresent, spt), [0, 200, 511]);
  const plain = [...spt.keys()].filter((i) => isPresent(spt[i]!));
  t.deepEqual(walk(nextPresent, spt), plain);
});

test('nextNonZero stops at every non-zero entry, present or not', (t) => {
  const spt = table({ 3: REMOVED_SPTE, 9: makeMmioSpte(9, 1), 200: makeNonLeaf(5) });
  t.deepEqual(walk(nextNonZero, spt), [3, 9, 200]);
});

test('an empty table has no entry to stop at; a scan from the end returns the length', (t) => {
  const spt = new Float64Array(PT_ENTRIES);
  t.is(nextPresent(spt, 0), PT_ENTRIES);
  t.is(nextNonZero(spt, 0), PT_ENTRIES);
  t.is(nextPresent(table({ 511: makeLeaf(1, true) }), PT_ENTRIES), PT_ENTRIES);
});

test('bitmapIndexes lists the set bits of 8 u64 words in ascending order, as a bit-by-bit reading does', (t) => {
  const slow = (words: readonly bigint[]): number[] => {
    const out: number[] = [];
    words.forEach((w, i) => {
      for (let b = 0; b < 64; b++) if ((w >> BigInt(b)) & 1n) out.push(i * 64 + b);
    });
    return out;
  };
  let x = 12345;
  const rnd = (): bigint => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return BigInt(x);
  };
  const cases: bigint[][] = [
    [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n],
    [1n, 1n << 31n, 1n << 32n, 1n << 63n, 0xffffffffffffffffn, 0n, 0n, 1n << 40n],
  ];
  for (let k = 0; k < 50; k++) cases.push(Array.from({ length: 8 }, () => (k % 3 === 0 ? 0n : (rnd() << 32n) | rnd())));
  for (const words of cases) {
    t.deepEqual(bitmapIndexes(words), slow(words));
    t.is(bitmapPopcount(words), slow(words).length);
  }
});
