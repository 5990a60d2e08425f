import test from 'ava';
import seedrandom from 'seedrandom';
import { LastAccessTable } from '../../src/runtime/last-access';

test('exchange returns the previous value of the same (object, field), -1 for the first access', (t) => {
  const la = new LastAccessTable();
  t.is(la.exchange(3, 7, 100), -1);
  t.is(la.exchange(3, 7, 200), 100);
  t.is(la.exchange(3, 8, 300), -1, 'another field of the same object');
  t.is(la.exchange(4, 7, 400), -1, 'the same field of another object');
  t.is(la.exchange(3, 7, 0xfffffffe), 200);
  t.is(la.exchange(3, 7, 1), 0xfffffffe, 'values are unsigned 32-bit');
});

test('keys and values with the top bit set compare in full', (t) => {
  const la = new LastAccessTable();
  const key = 0x9e3779b1; // > 2^31, as field hashes are
  t.is(la.exchange(1, key, 5), -1);
  t.is(la.exchange(1, key, 6), 5);
  t.is(la.exchange(1, key | 0, 7), 6, 'the same key as a signed number');
});

test('clear forgets every entry', (t) => {
  const la = new LastAccessTable();
  for (let i = 0; i < 100; i++) la.exchange(i, i * 31, i);
  la.clear();
  for (let i = 0; i < 100; i++) t.is(la.exchange(i, i * 31, i), -1);
});

test('clear after 2^32 epochs still forgets (the stamps are reset when the epoch wraps)', (t) => {
  const la = new LastAccessTable(4);
  la.exchange(1, 2, 3);
  (la as unknown as { epoch: number }).epoch = 0xffffffff;
  la.exchange(5, 6, 7);
  la.clear();
  t.is(la.exchange(5, 6, 8), -1);
  t.is(la.exchange(1, 2, 9), -1);
});

test('an overfull table loses entries but never answers with another key\'s value', (t) => {
  // 16 slots and 200 keys: most probe sequences overflow.
  const la = new LastAccessTable(4);
  const model = new Map<string, number>();
  const rng = seedrandom.xor4096('last-access');
  let found = 0;
  for (let i = 0; i < 5000; i++) {
    const oid = Math.floor(rng() * 20);
    const key = Math.floor(rng() * 10) * 0x01000193;
    const v = Math.floor(rng() * 2 ** 32);
    const prev = la.exchange(oid, key, v);
    const k = `${oid}/${key}`;
    if (prev !== -1) {
      t.is(prev, model.get(k) ?? -2, `a stale or foreign value for ${k}`);
      found++;
    }
    model.set(k, v);
  }
  t.true(found > 0 && found < 5000, `${found} predecessors found`);
});

test('exchange keeps the step of each access: prevStep is the step of the entry it returned', (t) => {
  const la = new LastAccessTable();
  la.exchange(3, 7, 100, 5);
  t.is(la.prevStep, -1, 'the first access has no predecessor');
  t.is(la.exchange(3, 7, 200, 9), 100);
  t.is(la.prevStep, 5);
  la.exchange(4, 7, 1, 11);
  t.is(la.prevStep, -1);
  t.is(la.exchange(3, 7, 300, 12), 200);
  t.is(la.prevStep, 9);
});

test('capture and restore keep the steps', (t) => {
  const la = new LastAccessTable(6);
  for (let i = 0; i < 20; i++) la.exchange(i, i * 7, i, 100 + i);
  const c = la.capture();
  const other = new LastAccessTable(6);
  other.restore(c);
  for (let i = 0; i < 20; i++) {
    t.is(other.exchange(i, i * 7, 0, 0), i);
    t.is(other.prevStep, 100 + i);
  }
});
