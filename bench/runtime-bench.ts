/**
 * Micro-benchmark of the bare scheduler: three threads that do nothing but
 * yield a labelled preemption point, under different decision sources, with
 * and without feature collection. Reports steps per second (one core).
 */
import { Execution, FeatureMap, type SimThread, type Step } from '../src/runtime';
import type { DecisionSource } from '../src/runtime/decision-source';
import { FuzzBytesSource, PctSource, RandomWalkSource } from '../src/strategies';

function* spin(_t: SimThread, n: number): Step {
  for (let i = 0; i < n; i++) yield 'bench:spin';
}

interface Row {
  name: string;
  stepsPerSec: number;
  steps: number;
  seconds: number;
}

function measure(name: string, mk: () => DecisionSource, features: boolean, stepsPerThread: number, execs: number): Row {
  const fm = features ? new FeatureMap() : null;
  // Warm up the JIT on the same shape.
  for (let i = 0; i < 3; i++) run(mk(), fm, 2000);
  const t0 = process.hrtime.bigint();
  let steps = 0;
  for (let i = 0; i < execs; i++) steps += run(mk(), fm, stepsPerThread);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, stepsPerSec: steps / seconds, steps, seconds };
}

function run(source: DecisionSource, fm: FeatureMap | null, n: number): number {
  const ex = new Execution(source, { maxSteps: 10 * n + 100, features: fm });
  for (let i = 0; i < 3; i++) ex.spawn(`T${i}`, (t) => spin(t, n));
  return ex.run().steps;
}

export function runtimeBench(quick: boolean): Row[] {
  const per = quick ? 100_000 : 400_000;
  const execs = quick ? 5 : 10;
  const rows = [
    measure('bytes (serial), no features', () => new FuzzBytesSource(), false, per, execs),
    measure('random walk, no features', () => new RandomWalkSource(1), false, per, execs),
    measure('pct d=3, no features', () => new PctSource(1, 3, 3 * per), false, per, execs),
    measure('random walk, features on', () => new RandomWalkSource(1), true, per, execs),
  ];
  return rows;
}

export function printRuntimeBench(rows: Row[]): void {
  console.log('runtime: bare scheduler, 3 threads, one core');
  console.log(`${'configuration'.padEnd(32)} ${'steps/s'.padStart(12)} ${'steps'.padStart(10)} ${'seconds'.padStart(8)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(32)} ${Math.round(r.stepsPerSec).toLocaleString('en-US').padStart(12)} ${String(r.steps).padStart(10)} ${r.seconds.toFixed(2).padStart(8)}`);
  }
}
