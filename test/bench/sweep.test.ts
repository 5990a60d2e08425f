/**
 * The sweep suite (bench/sweep.ts): its cells cover every document switch on
 * both sides, on its harness and on mmu; rows come back in cell order from
 * worker threads. What a sweep finds in its minutes is the benchmark's
 * output, not asserted here.
 */
import test from 'ava';
import { HARNESSES } from '../../harnesses';
import { SWITCHES } from '../../src/model/switches';
import { OWN_HARNESS, cellLabel, formatRow, sweep, sweepCells } from '../../bench/sweep';

test('cells: each switch off on its harness and on mmu, each harness all on, mmu all on', (t) => {
  const cells = sweepCells();
  const names = new Set(HARNESSES.map((h) => h.name));
  for (const s of SWITCHES) {
    const own = OWN_HARNESS[s.name]!;
    t.true(names.has(own), `${s.name}: harness ${own}`);
    for (const c of [{ harness: own, off: [] }, { harness: own, off: [s.name] }, { harness: 'mmu', off: [s.name] }]) {
      t.is(cells.filter((x) => x.harness === c.harness && x.off.join() === c.off.join()).length, 1, cellLabel(c));
    }
  }
  t.is(cells.filter((x) => x.harness === 'mmu' && x.off.length === 0).length, 1);
  t.is(cells.length, 3 * SWITCHES.length + 1);
  t.is(cellLabel({ harness: 'unsync', off: ['tdp-unsync-lock'] }), 'unsync, tdp-unsync-lock off');
  t.is(cellLabel({ harness: 'mmu', off: [] }), 'mmu, all on');
});

test('a short sweep runs its cells in worker threads and returns one row per cell, in order', async (t) => {
  const cells = [{ harness: 'unsync', off: ['tdp-unsync-lock'] }, { harness: 'mmio-gen', off: [] }, { harness: 'apicv', off: [] }];
  const lines: string[] = [];
  const rows = await sweep(cells, 0.3, 2, (l) => lines.push(l));
  t.deepEqual(rows.map((r) => [r.harness, r.off]), cells.map((c) => [c.harness, c.off]));
  t.is(lines.length, 3);
  for (const r of rows) {
    t.true(r.execs > 0, cellLabel(r));
    t.true(r.seconds >= 0.3);
    t.deepEqual(r.modelErrors, [], cellLabel(r));
    for (const f of r.found) {
      t.true(f.execs >= 1 && f.execs <= r.execs, f.signature);
      t.regex(f.signature, /^[A-Z]+ \S+: /);
    }
    t.true(lines.includes(formatRow(r)));
  }
  t.is(new Set(rows.flatMap((r) => r.found.map((f) => `${cellLabel(r)} ${f.signature}`))).size, rows.reduce((n, r) => n + r.found.length, 0), 'each signature once per cell');
});

test('formatRow: executions, rate and each signature with its time and executions', (t) => {
  const line = formatRow({ harness: 'unsync', off: ['tdp-unsync-lock'], seconds: 2, execs: 4000, found: [{ signature: 'WARN f: x', seconds: 0.25, execs: 120 }], modelErrors: [] });
  t.regex(line, /unsync, tdp-unsync-lock off +4000 execs \(2000\/s\) {2}WARN f: x 0\.3 s \/ 120$/);
  t.regex(formatRow({ harness: 'mmu', off: [], seconds: 1, execs: 10, found: [], modelErrors: [] }), /nothing$/);
  // A model error (a bug of mmufuzz) is never hidden in the table.
  t.regex(formatRow({ harness: 'mmu', off: [], seconds: 1, execs: 10, found: [], modelErrors: ['the crash X does not replay'] }), /nothing\n {4}MODEL ERROR: the crash X does not replay$/);
});
