/** One cell of the sweep (bench/sweep.ts), in a worker thread: fuzz for the given seconds, report what was found. */
import { parentPort, workerData } from 'node:worker_threads';
import { findHarness } from '../harnesses';
import { Fuzzer } from '../src/fuzz/engine';
import type { SweepCell, SweepFound, SweepRow } from './sweep';

const { cell, seconds } = workerData as { cell: SweepCell; seconds: number };
const h = findHarness(cell.harness);
if (h === undefined) throw new Error(`unknown harness '${cell.harness}'`);
const found: SweepFound[] = [];
// Model errors (a bug of mmufuzz, e.g. a crash that does not replay) are kept, distinct, for the table.
const modelErrors: string[] = [];
const summary = new Fuzzer(h, h.configure(cell.off, []), { seed: 1, maxTotalTime: seconds, now: () => Date.now(), statusEvery: 1e9, syncEvery: 1e9 }, (e) => {
  if (e.event === 'crash' && !e.duplicate) found.push({ signature: e.signature, seconds: e.seconds, execs: e.execs });
  if (e.event === 'model-error' && !modelErrors.includes(e.message) && modelErrors.length < 10) modelErrors.push(e.message);
}).run();
const row: SweepRow = { ...cell, seconds: summary.seconds, execs: summary.execs, found, modelErrors };
parentPort!.postMessage(row);
