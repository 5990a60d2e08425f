/**
 * `mmufuzz triage [crashes-dir] [--json]`: one row per signature — how many
 * crash files, first seen, harness, switches, the smallest reproducer
 * (operations, preemptions, steps) and its file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { scenarioSize } from '../fuzz/scenario';
import { loadCrash } from './crash-file';
import { UsageError } from './fuzz-command';

export interface TriageRow {
  signature: string;
  count: number;
  first_seen: string;
  harness: string;
  switches: string;
  ops: number;
  preemptions: number;
  steps: number;
  file: string;
}

export function triage(dir: string, onBad: (file: string, why: string) => void): TriageRow[] {
  if (!existsSync(dir)) throw new UsageError(`${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir}: not a directory`);
  const rows = new Map<string, TriageRow>();
  for (const h of readdirSync(dir).sort()) {
    const hdir = join(dir, h);
    if (!statSync(hdir).isDirectory()) continue;
    for (const slug of readdirSync(hdir).sort()) {
      const sdir = join(hdir, slug);
      if (!statSync(sdir).isDirectory()) continue;
      for (const f of readdirSync(sdir).sort()) {
        if (!/^crash-[0-9a-f]+$/.test(f)) continue;
        const file = join(sdir, f);
        let c;
        try {
          c = loadCrash(file);
        } catch (e) {
          onBad(file, (e as Error).message);
          continue;
        }
        const size = scenarioSize(c.scenario);
        const off = c.sidecar.switches.off;
        const sw = [off.length === 0 ? 'all on' : `off: ${off.join(',')}`, ...c.sidecar.switches.variants].join('; ');
        const seen = statSync(file).mtime.toISOString();
        const row = rows.get(c.sidecar.signature);
        const cand: TriageRow = { signature: c.sidecar.signature, count: 1, first_seen: seen, harness: c.sidecar.harness, switches: sw, ops: size.ops, preemptions: size.preemptions, steps: c.sidecar.steps, file };
        if (row === undefined) rows.set(cand.signature, cand);
        else {
          row.count++;
          if (seen < row.first_seen) row.first_seen = seen;
          if (cand.ops + cand.preemptions < row.ops + row.preemptions || (cand.ops + cand.preemptions === row.ops + row.preemptions && cand.steps < row.steps)) {
            Object.assign(row, { ops: cand.ops, preemptions: cand.preemptions, steps: cand.steps, file: cand.file, switches: cand.switches });
          }
        }
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.first_seen.localeCompare(b.first_seen) || a.signature.localeCompare(b.signature));
}

export function runTriage(dir: string, json: boolean, out: (s: string) => void, err: (s: string) => void): number {
  const rows = triage(dir, (file, why) => err(`WARNING: skipping ${file}: ${why.replace(/^.*?: /, '')}`));
  if (json) {
    out(JSON.stringify({ crashes: rows }));
    return 0;
  }
  if (rows.length === 0) {
    out(`no crashes in ${dir}`);
    return 0;
  }
  out(`${'count'.padStart(5)}  ${'first seen'.padEnd(20)}  ${'harness'.padEnd(13)}  ${'ops/pre/steps'.padEnd(13)}  signature`);
  for (const r of rows) {
    out(`${String(r.count).padStart(5)}  ${r.first_seen.slice(0, 19).padEnd(20)}  ${r.harness.padEnd(13)}  ${`${r.ops}/${r.preemptions}/${r.steps}`.padEnd(13)}  ${r.signature}`);
    out(`${''.padStart(5)}  ${r.switches}  ${r.file}`);
  }
  return 0;
}
