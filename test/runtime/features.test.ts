import test from 'ava';
import { Counter, counterInc, runToyCounter } from '../../harnesses/toy-counter';
import { Execution, FEATURE_MAP_BITS, FeatureMap, Lock, hashString, mixHash, type DecisionSource, type Step } from '../../src/runtime';
import { DfsSource, FuzzBytesSource } from '../../src/strategies';
import { Cell, exhaust, preempt } from './helpers';

function toyFeatures(src: DecisionSource, threads = 2): FeatureMap {
  const features = new FeatureMap();
  runToyCounter(src, { features }, threads);
  return features;
}

test('a run with a feature map hits features', (t) => {
  const f = toyFeatures(preempt());
  t.true(f.count() > 0);
  t.is(f.hits.length, 1 << FEATURE_MAP_BITS);
});

test('the same schedule gives identical hits in fresh maps', (t) => {
  const a = toyFeatures(preempt({ step: 1, thread: 1 }), 3);
  const b = toyFeatures(preempt({ step: 1, thread: 1 }), 3);
  t.deepEqual(b.hits, a.hits);
});

test('two different schedules give different feature sets', (t) => {
  const serial = toyFeatures(preempt());
  const racy = toyFeatures(preempt({ step: 1, thread: 1 }));
  t.notDeepEqual(racy.hits, serial.hits);
  // Over every schedule of the toy: the distinct feature sets are more than one.
  const sets = new Set<string>();
  exhaust((src) => {
    const features = new FeatureMap();
    const o = runToyCounter(src, { features });
    sets.add(Buffer.from(features.hits).toString('base64'));
    return o;
  });
  t.true(sets.size > 1);
});

test('the racy schedule of the toy has more features than the serial one', (t) => {
  const serial = toyFeatures(preempt());
  const racy = toyFeatures(preempt({ step: 1, thread: 1 }));
  t.true(racy.count() > serial.count(), `racy ${racy.count()} <= serial ${serial.count()}`);
});

/** Two threads each store one field then load it; `shared` = both use the same field. */
function runStores(shared: boolean, features: FeatureMap): void {
  const ex = new Execution(preempt({ step: 1, thread: 1 }, { step: 2, thread: 0 }), { features });
  const c = new Cell(ex, 'c');
  ex.spawn('A', function* (th): Step {
    yield 'f:c.field.store';
    th.store(c, 'value', 1);
    yield 'f:c.field.load';
    th.load(c, 'value');
  });
  ex.spawn('B', function* (th): Step {
    yield 'f:c.field.store';
    th.store(c, shared ? 'value' : 'other', 2);
    yield 'f:c.field.load';
    th.load(c, shared ? 'value' : 'other');
  });
  ex.run();
}

test('conflicting cross-thread accesses produce features that disjoint ones do not', (t) => {
  // Same labels, same schedule; only whether the fields are the same differs.
  const shared = new FeatureMap();
  const disjoint = new FeatureMap();
  runStores(true, shared);
  runStores(false, disjoint);
  t.true(shared.count() > disjoint.count(), `shared ${shared.count()} <= disjoint ${disjoint.count()}`);
  // Every disjoint feature is also a shared-run feature (the conflict ones are extra).
  for (let i = 0; i < disjoint.hits.length; i++) if (disjoint.hits[i]! > 0) t.true(shared.hits[i]! > 0);
});

test('two reads of the same field by different threads are not a conflict', (t) => {
  const run = (readOnly: boolean): number => {
    const features = new FeatureMap();
    const ex = new Execution(preempt({ step: 1, thread: 1 }), { features });
    const c = new Cell(ex, 'c');
    for (const name of ['A', 'B']) {
      ex.spawn(name, function* (th): Step {
        yield 'f:c.value.access';
        if (readOnly || name === 'A') th.load(c, 'value');
        else th.store(c, 'value', 1);
      });
    }
    ex.run();
    return features.count();
  };
  t.true(run(false) > run(true));
});

test('waiting on a held lock is a contention feature', (t) => {
  // Two Lock objects with the same name have the same labels; with one shared object B blocks.
  const run = (sameLock: boolean): number => {
    const features = new FeatureMap();
    const ex = new Execution(preempt(), { features });
    const l1 = new Lock(ex, 'kvm->lock', 'spinlock');
    const l2 = sameLock ? l1 : new Lock(ex, 'kvm->lock', 'spinlock');
    ex.spawn('A', function* (th): Step {
      yield* l1.lock(th, 'f');
      yield 'f:work';
      yield* l1.unlock(th, 'f');
    });
    ex.spawn('B', function* (th): Step {
      yield* l2.lock(th, 'f');
      yield 'f:work';
      yield* l2.unlock(th, 'f');
    });
    t.is(ex.run().failure, null);
    return features.count();
  };
  t.true(run(true) > run(false));
});

test('model choices and custom features are features too', (t) => {
  const run = (choice: number, custom: boolean): FeatureMap => {
    const features = new FeatureMap();
    const ex = new Execution(new FuzzBytesSource(new Uint8Array(0), Uint8Array.from([choice])), { features });
    ex.spawn('T', function* (th): Step {
      yield 'f:choose';
      th.choose(2, 'resched');
      if (custom) ex.feature('root visited after invalidation', 3);
    });
    ex.run();
    return features;
  };
  t.notDeepEqual(run(0, false).hits, run(1, false).hits);
  t.is(run(0, true).count(), run(0, false).count() + 1);
});

test('a map accumulates over executions; clear() empties it', (t) => {
  const features = new FeatureMap();
  const dfs = new DfsSource();
  const counts: number[] = [];
  do {
    runToyCounter(dfs, { features });
    counts.push(features.count());
  } while (dfs.advance());
  for (let i = 1; i < counts.length; i++) t.true(counts[i]! >= counts[i - 1]!);
  t.true(counts[counts.length - 1]! > counts[0]!);
  features.clear();
  t.is(features.count(), 0);
});

test('FeatureMap: hits saturate at 255, the index is masked by the size', (t) => {
  const f = new FeatureMap(4);
  t.is(f.hits.length, 16);
  for (let i = 0; i < 300; i++) f.hit(0x12345673);
  t.is(f.hits[3], 255);
  f.hit(0x13);
  t.is(f.hits[3], 255);
  t.is(f.count(), 1);
});

test('FeatureMap.hitSlot(i, n) is n hits of slot i: first-hit order, saturation, zero hits touch nothing', (t) => {
  const a = new FeatureMap(4);
  const b = new FeatureMap(4);
  for (const [i, n] of [[5, 3], [2, 0], [9, 300], [5, 1], [2, 2]] as const) {
    a.hitSlot(i, n);
    for (let k = 0; k < n; k++) b.hit(i);
  }
  t.deepEqual([...a.touched()], [5, 9, 2]);
  t.deepEqual([...a.touched()], [...b.touched()]);
  t.deepEqual([...a.hits], [...b.hits]);
  t.is(a.hits[9], 255);
});

test('hashString is FNV-1a and pure; mixHash is a pure 32-bit function', (t) => {
  t.is(hashString(''), 0x811c9dc5);
  t.is(hashString('a'), 0xe40c292c);
  t.is(hashString('foobar'), 0xbf9cf968);
  t.is(hashString('foobar'), hashString(['foo', 'bar'].join('')));
  const m = mixHash(1, 2);
  t.is(mixHash(1, 2), m);
  t.not(mixHash(2, 1), m);
  t.true(Number.isInteger(m) && m >= 0 && m < 2 ** 32);
});

test('no feature map: the run is the same', (t) => {
  const ex1 = new Execution(preempt({ step: 1, thread: 1 }), { trace: true });
  const c1 = new Counter(ex1);
  ex1.spawn('A', (th) => counterInc(th, c1));
  ex1.spawn('B', (th) => counterInc(th, c1));
  const ex2 = new Execution(preempt({ step: 1, thread: 1 }), { trace: true, features: new FeatureMap() });
  const c2 = new Counter(ex2);
  ex2.spawn('A', (th) => counterInc(th, c2));
  ex2.spawn('B', (th) => counterInc(th, c2));
  t.deepEqual(ex2.run(), ex1.run());
});

test('FeatureMap: touched() lists the slots hit in first-hit order; clear() zeroes exactly them', (t) => {
  const f = new FeatureMap(4);
  f.hit(9);
  f.hit(2);
  f.hit(9);
  f.hit(0x12345672); // slot 2 again, through the mask
  f.hit(15);
  t.deepEqual(Array.from(f.touched()), [9, 2, 15]);
  t.is(f.count(), 3);
  t.is(f.hits[2], 2);
  f.clear();
  t.deepEqual(Array.from(f.hits), new Array(16).fill(0));
  t.deepEqual(Array.from(f.touched()), []);
  f.hit(4);
  t.deepEqual(Array.from(f.touched()), [4]);
  t.is(f.hits[4], 1);
});

test('context-switch features mark their slots (switchSlots), other features do not', (t) => {
  const serial = toyFeatures(preempt(), 2);
  const sw = (f: FeatureMap): number => f.switchSlots.reduce((n, x) => n + x, 0);
  // Serial: the second thread starts after the first finished; that one switch is marked.
  const racy = toyFeatures(preempt({ step: 1, thread: 1 }, { step: 3, thread: 0 }), 2);
  t.true(sw(racy) > sw(serial), `${sw(racy)} marked slots with preemptions, ${sw(serial)} without`);
  for (let i = 0; i < racy.switchSlots.length; i++) if (racy.switchSlots[i] === 1) t.true(racy.hits[i]! > 0);
  t.true(racy.count() > sw(racy), 'code and conflict features are not marked');
  // The marks outlive clear(): they say which slots switch features use, across executions.
  racy.clear();
  t.true(sw(racy) > 0);
});

/**
 * Thread A accesses a field twice, B once: `order` gives A's first and
 * second access and B's ('r' or 'w'); the schedule runs A, then B, then A
 * (interleaved) or A, A, B (serial). Returns the features.
 */
function runTriple(order: string, interleaved: boolean, atomicity: boolean): FeatureMap {
  const features = new FeatureMap();
  const ex = new Execution(interleaved ? preempt({ step: 1, thread: 1 }, { step: 2, thread: 0 }) : preempt(), { features, atomicity });
  const c = new Cell(ex, 'c');
  const access = (th: Parameters<Parameters<typeof ex.spawn>[1]>[0], how: string): void => {
    if (how === 'w') th.store(c, 'value', 1);
    else th.load(c, 'value');
  };
  ex.spawn('A', function* (th): Step {
    yield 'f:c.first';
    access(th, order[0]!);
    yield 'f:c.second';
    access(th, order[2]!);
  });
  ex.spawn('B', function* (th): Step {
    yield 'f:c.middle';
    access(th, order[1]!);
  });
  ex.run();
  return features;
}

test('atomicity features: exactly the four unserializable orders of a thread\'s two accesses around another thread\'s', (t) => {
  for (const order of ['rrr', 'rrw', 'rwr', 'rww', 'wrr', 'wrw', 'wwr', 'www']) {
    const extra = runTriple(order, true, true).count() - runTriple(order, true, false).count();
    const unserializable = ['rwr', 'wwr', 'wrw', 'rww'].includes(order);
    t.is(extra, unserializable ? 1 : 0, order);
    // Serially (A, A, then B) no order is a feature.
    t.is(runTriple(order, false, true).count(), runTriple(order, false, false).count(), `${order} serial`);
  }
  // The four orders are four features.
  const slots = new Set<number>();
  for (const order of ['rwr', 'wwr', 'wrw', 'rww']) {
    const a = runTriple(order, true, true);
    const b = runTriple(order, true, false);
    for (const s of a.touched()) if (b.hits[s] === 0) slots.add(s);
  }
  t.is(slots.size, 4);
});
