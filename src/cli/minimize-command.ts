/**
 * `mmufuzz minimize <crash-file> [-o FILE]`: reduces a crash while keeping
 * its exact signature and writes the result (input, sidecar, trace) next to
 * it as `crash-<sha1>` (or to FILE).
 */
import { dirname, join, resolve } from 'node:path';
import { encode, withHeader } from '../fuzz/codec';
import { sha1 } from '../fuzz/corpus-store';
import type { CrashSidecar } from '../fuzz/crash-store';
import { scenarioSource } from '../fuzz/scenario';
import { describeProgram } from '../fuzz/harness';
import { writeFileAtomic } from '../fuzz/fs-atomic';
import { minimize } from '../minimize/minimize';
import { renderSwimlanes } from '../report/swimlane';
import { decodePreemptions, formatSchedule } from '../strategies';
import { loadCrash } from './crash-file';
import { UsageError, writableDir } from './fuzz-command';

export function runMinimize(file: string, o: { output?: string }, out: (s: string) => void): number {
  const c = loadCrash(file);
  const target = o.output ?? null;
  if (target !== null) writableDir(resolve(target, '..'), 'output directory');
  let r;
  try {
    r = minimize(c.harness, c.cfg, c.scenario, c.sidecar.signature);
  } catch (e) {
    out(`does not reproduce: ${(e as Error).message}`);
    return 1;
  }
  const payload = encode(c.harness, r.scenario);
  const bytes = withHeader(payload);
  const dest = target ?? join(dirname(file), `crash-${sha1(bytes)}`);
  const traced = c.harness.execute(r.scenario, c.cfg, scenarioSource(r.scenario), { trace: true });
  const program = describeProgram(c.harness, r.scenario);
  const sidecar: CrashSidecar = {
    ...c.sidecar, config: c.harness.describeConfig(r.scenario.config), program,
    preemptions: decodePreemptions(r.scenario.schedule), choices: Array.from(r.scenario.choices),
    random_switches: { seed: r.scenario.walkSeed, rate: r.scenario.walkRate }, pct: r.scenario.pct, schedule: formatSchedule(traced.decisions), steps: traced.steps,
    found: { ...c.sidecar.found, minimized: true },
  };
  try {
    writeFileAtomic(`${dest}.json`, JSON.stringify(sidecar, null, 2) + '\n');
    writeFileAtomic(`${dest}.trace.txt`, renderSwimlanes(traced) + '\n');
    writeFileAtomic(dest, bytes);
  } catch (e) {
    throw new UsageError(`cannot write ${dest}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  out(`minimized ${c.sidecar.signature}: ${r.before.ops} ops / ${r.before.preemptions} preemptions -> ${r.after.ops} ops / ${r.after.preemptions} preemptions, ${traced.steps} steps (${r.executions} executions)`);
  out(dest);
  return 0;
}
