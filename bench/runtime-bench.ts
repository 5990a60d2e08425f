/**
 * Micro-benchmark of the scheduler: three threads under different decision
 * sources, with and without feature collection. Reports steps per second
 * (one core). Two kinds of step:
 * - spin: a labelled preemption point and nothing else (the bare loop);
 * - load/store: what a model step does at the least, one load or store of a
 *   shared object's field through a `yield*` helper, with its use-after-free
 *   check and, with features, its conflict features and the conflict log.
 *   It is the runtime's share of a model step; the rest of a harness's
 *   cost per step is model code (bench/README.md, session 10).
 */
import { Execution, FeatureMap, KObject, type SimThread, type Step } from '../src/runtime';
import type { DecisionSource } from '../src/runtime/decision-source';
import { FuzzBytesSource, PctSource, RandomWalkSource } from '../src/strategies';

function* spin(_t: SimThread, n: number): Step {
  for (let i = 0; i < n; i++) yield 'bench:spin';
}

/** A shared word that load/store steps use. */
class Word extends KObject {
  v = 0;
  constructor(ex: Execution, name: string) {
    super(ex, 'word', name);
  }
}

/** Two steps: a load of `w.v`, then a store to it (a non-atomic add). */
function* addTo(t: SimThread, w: Word, d: number): Step {
  yield 'bench_add:word.v.load';
  const x = t.load(w, 'v');
  yield 'bench_add:word.v.store';
  t.store(w, 'v', x + d);
}

/** `n` steps of loads and stores over four shared words. */
function* loadStore(t: SimThread, words: readonly Word[], n: number): Step {
  for (let i = 0; i < n; i += 2) yield* addTo(t, words[(i >> 1) & 3]!, i);
}

type Kind = 'spin' | 'load/store';

interface Row {
  name: string;
  stepsPerSec: number;
  steps: number;
  seconds: number;
}

function measure(name: string, mk: () => DecisionSource, features: boolean, kind: Kind, stepsPerThread: number, execs: number): Row {
  const fm = features ? new FeatureMap() : null;
  // Warm up the JIT on the same shape.
  for (let i = 0; i < 3; i++) run(mk(), fm, kind, 2000);
  const t0 = process.hrtime.bigint();
  let steps = 0;
  for (let i = 0; i < execs; i++) steps += run(mk(), fm, kind, stepsPerThread);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, stepsPerSec: steps / seconds, steps, seconds };
}

function run(source: DecisionSource, fm: FeatureMap | null, kind: Kind, n: number): number {
  fm?.clear();
  const ex = new Execution(source, { maxSteps: 10 * n + 100, features: fm, conflictLog: fm !== null });
  const words = kind === 'spin' ? [] : [0, 1, 2, 3].map((i) => new Word(ex, `w${i}`));
  for (let i = 0; i < 3; i++) ex.spawn(`T${i}`, (t) => (kind === 'spin' ? spin(t, n) : loadStore(t, words, n)));
  return ex.run().steps;
}

export function runtimeBench(quick: boolean): Row[] {
  const per = quick ? 100_000 : 400_000;
  const execs = quick ? 5 : 10;
  const rows = [
    measure('bytes (serial), no features', () => new FuzzBytesSource(), false, 'spin', per, execs),
    measure('random walk, no features', () => new RandomWalkSource(1), false, 'spin', per, execs),
    measure('pct d=3, no features', () => new PctSource(1, 3, 3 * per), false, 'spin', per, execs),
    measure('random walk, features on', () => new RandomWalkSource(1), true, 'spin', per, execs),
    measure('load/store, random walk, no features', () => new RandomWalkSource(1), false, 'load/store', per, execs),
    measure('load/store, random walk, features on', () => new RandomWalkSource(1), true, 'load/store', per, execs),
  ];
  return rows;
}

export function printRuntimeBench(rows: Row[]): void {
  console.log('runtime: the scheduler alone, 3 threads, one core (spin: bare steps; load/store: one field access a step)');
  console.log(`${'configuration'.padEnd(40)} ${'steps/s'.padStart(12)} ${'steps'.padStart(10)} ${'seconds'.padStart(8)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(40)} ${Math.round(r.stepsPerSec).toLocaleString('en-US').padStart(12)} ${String(r.steps).padStart(10)} ${r.seconds.toFixed(2).padStart(8)}`);
  }
}
