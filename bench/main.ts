/**
 * `npm run bench -- [suite...] [--quick] [--json FILE]`: runs benchmark
 * suites and prints their tables. Suites: `runtime` (the bare scheduler),
 * `fuzz` (both of: `races`, time to first crash per seed race for mmufuzz
 * and its baselines; `speed`, executions per second per harness: the
 * engine in process, and the CLI with a corpus directory as one process and
 * with --workers 2). The default is `runtime` and `fuzz`.
 * `--tools mmufuzz,random,pct,jsfuzz` picks the tools of `races`.
 * `hitrate` (not in the default): the first-hit rate of each race over
 * 40 seeds x 1500 executions (3 x 500 with --quick), for tuning.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { TOOLS, type Tool, benchSeeds, fuzzBench, printFuzzBench } from './fuzz-bench';
import { hitRates } from './hit-rate';
import { printRuntimeBench, runtimeBench } from './runtime-bench';

const SUITES = ['runtime', 'fuzz', 'races', 'speed', 'hitrate'] as const;

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const ji = argv.indexOf('--json');
  const jsonFile = ji >= 0 ? argv[ji + 1] : undefined;
  if (ji >= 0 && jsonFile === undefined) {
    console.error('bench: --json needs a file name');
    return 2;
  }
  const ti = argv.indexOf('--tools');
  const tools = ti >= 0 ? (argv[ti + 1] ?? '').split(',') : [...TOOLS];
  for (const t of tools) {
    if (!(TOOLS as readonly string[]).includes(t)) {
      console.error(`bench: unknown tool '${t}' (known: ${TOOLS.join(', ')})`);
      return 2;
    }
  }
  const names = argv.filter((a, i) => !a.startsWith('--') && !(ji >= 0 && i === ji + 1) && !(ti >= 0 && i === ti + 1));
  for (const n of names) {
    if (!(SUITES as readonly string[]).includes(n)) {
      console.error(`bench: unknown suite '${n}' (known: ${SUITES.join(', ')})`);
      return 2;
    }
  }
  const run = names.length === 0 ? ['runtime', 'fuzz'] : names;
  const results: Record<string, unknown> = {};
  for (const s of run) {
    if (s === 'runtime') {
      const rows = runtimeBench(quick);
      printRuntimeBench(rows);
      results.runtime = rows;
    }
    if (s === 'hitrate') {
      const [seeds, runs] = quick ? [3, 500] : [40, 1500];
      console.log(`hitrate: first-hit rate (seeds found / executions to each first target crash), ${seeds} seeds x ${runs} executions`);
      const inProcess = tools.filter((t): t is Exclude<Tool, 'jsfuzz'> => t !== 'jsfuzz');
      results.hitrate = hitRates(seeds, runs, inProcess);
    }
    if (s === 'fuzz' || s === 'races' || s === 'speed') {
      const parts = { races: s !== 'speed', speed: s !== 'races' };
      const plan = benchSeeds(quick);
      if (parts.races) console.log(`fuzz: time to first crash per seed race (${plan.inProcess.length} seeds in process, ${plan.jsfuzz.length} for jsfuzz, ${plan.cap} s cap)`);
      const r = await fuzzBench(quick, tools as Tool[], console.log, parts);
      printFuzzBench(r);
      results[s] = r;
    }
  }
  if (jsonFile !== undefined) {
    const tmp = `${jsonFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(results, null, 2) + '\n');
    renameSync(tmp, jsonFile);
  }
  return 0;
}

main(process.argv.slice(2)).then((c) => {
  process.exitCode = c;
});
