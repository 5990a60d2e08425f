/**
 * `npm run bench -- sweep [--minutes M] [--jobs N]`: what fuzzing finds in M
 * minutes (default 10) for every document switch, both sides, on its own
 * harness and on `mmu` (issue 4's acceptance): seed 1, empty corpus, the
 * engine in process. Per cell: executions, and the time and executions to
 * the first crash of every signature found. `--jobs 2` runs two cells at a
 * time in worker threads (one per core); executions per second then share
 * the machine.
 *
 * Cells: each switch off on its harness and on mmu; each harness with every
 * switch on; mmu with every switch on (the on side of all five at once).
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { SWITCHES } from '../src/model/switches';

/** The per-mechanism harness of each document switch. */
export const OWN_HARNESS: Readonly<Record<string, string>> = {
  'tdp-unsync-lock': 'unsync',
  'vcpu-apicv-state': 'apicv',
  'mmio-gen-after-srcu': 'mmio-gen',
  'roots-off-list': 'tdp-roots',
  'slots-arch-lock': 'memslot-rmaps',
};

export interface SweepCell {
  readonly harness: string;
  readonly off: readonly string[];
}

export interface SweepFound {
  readonly signature: string;
  readonly seconds: number;
  readonly execs: number;
}

export interface SweepRow extends SweepCell {
  readonly seconds: number;
  readonly execs: number;
  readonly found: readonly SweepFound[];
  /** Distinct model errors (bugs of mmufuzz, not kernel crashes); empty in a healthy run. */
  readonly modelErrors: readonly string[];
}

/** The cells, in table order: per switch, its harness on and off, then mmu off; last mmu with everything on. */
export function sweepCells(): SweepCell[] {
  const cells: SweepCell[] = [];
  for (const s of SWITCHES) {
    const own = OWN_HARNESS[s.name];
    if (own === undefined) throw new Error(`no harness for switch '${s.name}'`);
    cells.push({ harness: own, off: [] }, { harness: own, off: [s.name] }, { harness: 'mmu', off: [s.name] });
  }
  cells.push({ harness: 'mmu', off: [] });
  return cells;
}

/** "harness, switch off" / "harness, all on". */
export function cellLabel(c: SweepCell): string {
  return `${c.harness}, ${c.off.length === 0 ? 'all on' : `${c.off.join(', ')} off`}`;
}

/** One line of the table: executions (exec/s), then each signature with its time and executions to the first crash. */
export function formatRow(r: SweepRow): string {
  const rate = r.seconds > 0 ? Math.round(r.execs / r.seconds) : 0;
  const found = r.found.length === 0 ? 'nothing' : r.found.map((f) => `${f.signature} ${f.seconds.toFixed(1)} s / ${f.execs}`).join('; ');
  const errors = r.modelErrors.map((m) => `\n    MODEL ERROR: ${m}`).join('');
  return `  ${cellLabel(r).padEnd(42)} ${String(r.execs).padStart(9)} execs (${rate}/s)  ${found}${errors}`;
}

/** Runs the cells, `jobs` at a time, each for `seconds`; logs each row as it finishes; returns the rows in cell order. */
export async function sweep(cells: readonly SweepCell[], seconds: number, jobs: number, log: (s: string) => void = console.log): Promise<SweepRow[]> {
  const rows: (SweepRow | undefined)[] = new Array(cells.length);
  let next = 0;
  const worker = join(__dirname, 'sweep-worker.js');
  async function lane(): Promise<void> {
    while (next < cells.length) {
      const i = next++;
      rows[i] = await new Promise<SweepRow>((resolve, reject) => {
        const w = new Worker(worker, { workerData: { cell: cells[i], seconds } });
        w.once('message', (r: SweepRow) => resolve(r));
        w.once('error', reject);
        w.once('exit', (code) => {
          if (code !== 0) reject(new Error(`sweep worker for ${cellLabel(cells[i]!)} exited with ${code}`));
        });
      });
      log(formatRow(rows[i]!));
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, cells.length)) }, () => lane()));
  return rows as SweepRow[];
}
