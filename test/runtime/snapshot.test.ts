/**
 * CopyPlan: the copy of a set-up's object graph that each execution starts
 * from (see src/runtime/snapshot.ts). The harness-level check that copies
 * run exactly as full set-ups is in test/model/setup-snapshot.test.ts.
 */
import test from 'ava';
import { CopyPlan, Execution, Lock, Rcu, RwLock, SnapshotRefused, type SimThread, type Step } from '../../src/runtime';
import { FuzzBytesSource } from '../../src/strategies';
import { Cell } from './helpers';

class Node2 {
  next: Node2 | null = null;
  constructor(readonly id: number, public tags: string[]) {}
  get size(): number {
    return this.tags.length;
  }
}

function template(): { ex: Execution; threads: SimThread[] } {
  const ex = new Execution(new FuzzBytesSource());
  const threads = ['a', 'b'].map((n) => ex.createThread(n, function* (): Step {
    yield `${n}:start`;
  }));
  return { ex, threads };
}

function fresh(): { ex: Execution; threads: SimThread[] } {
  return template();
}

test('a copy keeps classes, structure, cycles and values, and is independent of the template', (t) => {
  const { ex, threads } = template();
  const a = new Node2(1, ['x', 'y']);
  const b = new Node2(2, []);
  a.next = b;
  b.next = a; // a cycle
  const key = new Cell(ex, 'key');
  const root = {
    a, b, shared: [a, a], key,
    map: new Map<unknown, unknown>([[key, b], ['s', 1.5], [3, -0]]),
    set: new Set([a, 'v', 7n]),
    table: Float64Array.from([1, 2, 3.25]),
    big: 2n ** 70n, nan: Number.NaN, inf: -Infinity, neg: -0, text: 'line\u2028sep "quoted"', nothing: undefined, none: null, flag: true,
    owner: threads[1], exec: ex,
  };
  const plan = CopyPlan.compile(root, ex, threads, []);
  const to = fresh();
  const c = plan.copy(to.ex, to.threads);
  t.not(c, root);
  t.true(c.a instanceof Node2);
  t.is(c.a.size, 2);
  t.not(c.a, a);
  t.is(c.a.next, c.b);
  t.is(c.b.next, c.a);
  t.is(c.shared[0], c.a);
  t.is(c.shared[1], c.a);
  t.true(c.key instanceof Cell);
  t.is(c.key.oid, key.oid);
  t.is(c.map.get(c.key), c.b);
  t.is(c.map.get('s'), 1.5);
  t.true(Object.is(c.map.get(3), -0));
  t.true(c.set.has(c.a) && c.set.has('v') && c.set.has(7n));
  t.deepEqual(Array.from(c.table), [1, 2, 3.25]);
  t.not(c.table, root.table);
  t.is(c.big, 2n ** 70n);
  t.true(Number.isNaN(c.nan));
  t.is(c.inf, -Infinity);
  t.true(Object.is(c.neg, -0));
  t.is(c.text, root.text);
  t.true('nothing' in c);
  t.is(c.none, null);
  t.is(c.flag, true);
  t.is(c.owner, to.threads[1]);
  t.is(c.exec, to.ex);
  // Independent: changing the copy leaves the template alone, and a second copy is fresh.
  c.a.tags.push('z');
  c.table[0] = 9;
  c.map.set('s', 2);
  t.deepEqual(a.tags, ['x', 'y']);
  t.is(root.table[0], 1);
  t.is(root.map.get('s'), 1.5);
  const d = plan.copy(to.ex, to.threads);
  t.deepEqual(d.a.tags, ['x', 'y']);
  t.not(d.a, c.a);
  // root, a, a.tags, b, b.tags, shared, key, key.arr, map, set, table.
  t.is(plan.objects, 11);
});

test('cycles back to objects still being built (the root, the object itself) are stored after allocation; fields keep their order', (t) => {
  const { ex, threads } = template();
  const root: { self: unknown; child: Node2; n: number; tail: string } = { self: null, child: new Node2(5, ['t']), n: 3, tail: 'end' };
  root.self = root;
  const leaf = new Node2(6, []);
  root.child.next = leaf;
  leaf.next = root.child; // back to its parent, still being built when leaf is
  (leaf.tags as unknown[]).push(root); // through an array, back to the root
  const plan = CopyPlan.compile(root, ex, threads, []);
  const to = fresh();
  const c = plan.copy(to.ex, to.threads);
  t.is(c.self, c);
  t.is(c.child.next, c.child.next!.next!.next);
  t.is(c.child.next!.next, c.child);
  t.is(c.child.next!.tags[0] as unknown, c);
  t.deepEqual(Object.keys(c), Object.keys(root));
  t.deepEqual(Object.keys(c.child), Object.keys(root.child));
  t.is(c.n, 3);
  t.is(c.tail, 'end');
  t.deepEqual(c.child.tags, ['t']);
});

test('shared objects are kept as they are', (t) => {
  const { ex, threads } = template();
  const config = { switches: new Set(['x']) };
  const plan = CopyPlan.compile({ config, other: { config } }, ex, threads, [config]);
  const to = fresh();
  const c = plan.copy(to.ex, to.threads);
  t.is(c.config, config);
  t.is(c.other.config, config);
});

test('locks are copied with their state and fresh blockers that watch the copy', (t) => {
  const { ex, threads } = template();
  const outer = new RwLock(ex, 'mmu_lock');
  const inner = new Lock(ex, 'pages_lock', 'spinlock', outer);
  outer.readers = 2;
  inner.owner = threads[0]!;
  const plan = CopyPlan.compile({ outer, inner }, ex, threads, []);
  const to = fresh();
  const c = plan.copy(to.ex, to.threads);
  t.true(c.inner instanceof Lock && c.outer instanceof RwLock);
  t.is(c.inner.outer, c.outer);
  t.is(c.inner.owner, to.threads[0]);
  t.is(c.outer.readers, 2);
  t.is(c.inner.ex, to.ex);
  // The copy's lock works on its own state: a thread of the new execution can take it once released.
  c.inner.owner = null;
  const got: string[] = [];
  to.ex.spawn('c', function* (th): Step {
    yield* c.outer.readLock(th, 'f');
    yield* c.inner.lock(th, 'f');
    got.push('locked');
    yield* c.inner.unlock(th, 'f');
    yield* c.outer.readUnlock(th, 'f');
  });
  to.threads.forEach((th) => to.ex.prime(th));
  const o = to.ex.run();
  t.is(o.failure, null);
  t.deepEqual(got, ['locked']);
  t.is(inner.owner, threads[0]);
});

test('what cannot be copied faithfully is refused when the plan is compiled', (t) => {
  const { ex, threads } = template();
  const other = template();
  t.throws(() => CopyPlan.compile({ f: () => 1 }, ex, threads, []), { instanceOf: SnapshotRefused, message: /function/ });
  t.throws(() => CopyPlan.compile({ g: threads[0]!.body(threads[0]!) }, ex, threads, []), { instanceOf: SnapshotRefused, message: /generator/ });
  t.throws(() => CopyPlan.compile({ th: other.threads[0] }, ex, threads, []), { instanceOf: SnapshotRefused, message: /thread a/ });
  t.throws(() => CopyPlan.compile({ ex: other.ex }, ex, threads, []), { instanceOf: SnapshotRefused, message: /execution/ });
  const rcu = new Rcu(ex);
  t.notThrows(() => CopyPlan.compile({ rcu }, ex, threads, []));
  const c = new Cell(ex, 'c');
  rcu.callRcu(threads[0]!, 'free(c)', (th) => th.free(c));
  t.throws(() => CopyPlan.compile({ rcu }, ex, threads, []), { instanceOf: SnapshotRefused, message: /RCU callbacks/ });
  const hidden = {};
  Object.defineProperty(hidden, 'x', { value: 1, enumerable: false });
  t.throws(() => CopyPlan.compile({ hidden }, ex, threads, []), { instanceOf: SnapshotRefused, message: /hidden/ });
  const acc = { get x(): number { return 1; } };
  t.throws(() => CopyPlan.compile({ acc }, ex, threads, []), { instanceOf: SnapshotRefused });
});

test('Execution: a set-up that makes a decision or a choice, or fails, is not captured', (t) => {
  const refusing = { name: 'r', beginExecution: () => undefined, nextThread: (): number => { throw new SnapshotRefused('decision'); }, nextChoice: (): number => { throw new SnapshotRefused('choice'); } };
  // Two runnable threads: the set-up needs a decision.
  const ex = new Execution(refusing);
  for (const n of ['a', 'b']) ex.spawn(n, function* (): Step { yield `${n}:one`; yield `${n}:two`; });
  t.throws(() => ex.runSetup(() => false), { instanceOf: SnapshotRefused });
  // One thread, serial: captured; it stopped where done() held.
  const ex2 = new Execution(refusing);
  let steps = 0;
  ex2.spawn('a', function* (): Step { for (let i = 0; i < 5; i++) { yield `a:s${i}`; steps++; } });
  t.true(ex2.runSetup(() => steps >= 3));
  const s = ex2.captureSetup();
  t.is(s.step, 3);
  t.is(s.threads[0]!.label, 'a:s3');
  // A set-up that fails.
  const ex3 = new Execution(refusing);
  const cell = new Cell(ex3, 'c');
  ex3.spawn('a', function* (th): Step { yield 'a:free'; th.free(cell); yield 'a:use'; th.load(cell, 'value'); yield 'a:end'; });
  t.false(ex3.runSetup(() => false));
  t.throws(() => ex3.captureSetup(), { instanceOf: SnapshotRefused, message: /failed/ });
});
