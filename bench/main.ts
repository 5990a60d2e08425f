/**
 * `npm run bench -- [suite...] [--quick] [--json FILE]`: runs benchmark
 * suites and prints their tables. Suites: `runtime` (the bare scheduler),
 * `fuzz` (time to first crash per seed race for mmufuzz and its baselines,
 * and executions per second per harness).
 */
import { writeFileSync, renameSync } from 'node:fs';
import { benchSeeds, fuzzBench, printFuzzBench } from './fuzz-bench';
import { printRuntimeBench, runtimeBench } from './runtime-bench';

const SUITES = ['runtime', 'fuzz'] as const;

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const ji = argv.indexOf('--json');
  const jsonFile = ji >= 0 ? argv[ji + 1] : undefined;
  if (ji >= 0 && jsonFile === undefined) {
    console.error('bench: --json needs a file name');
    return 2;
  }
  const names = argv.filter((a, i) => !a.startsWith('--') && !(ji >= 0 && i === ji + 1));
  for (const n of names) {
    if (!(SUITES as readonly string[]).includes(n)) {
      console.error(`bench: unknown suite '${n}' (known: ${SUITES.join(', ')})`);
      return 2;
    }
  }
  const run = names.length === 0 ? [...SUITES] : names;
  const results: Record<string, unknown> = {};
  for (const s of run) {
    if (s === 'runtime') {
      const rows = runtimeBench(quick);
      printRuntimeBench(rows);
      results.runtime = rows;
    }
    if (s === 'fuzz') {
      const plan = benchSeeds(quick);
      console.log(`fuzz: time to first crash per seed race (${plan.inProcess.length} seeds in process, ${plan.jsfuzz.length} for jsfuzz, ${plan.cap} s cap)`);
      const r = await fuzzBench(quick);
      printFuzzBench(r);
      results.fuzz = r;
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
