/**
 * `npm run bench -- [suite...] [--quick] [--seeds N] [--tools LIST] [--json FILE]`:
 * runs benchmark suites and prints their tables. Suites: `runtime` (the bare
 * scheduler), `fuzz` (both of: `races`, time to first crash per seed race for
 * mmufuzz and its baselines; `speed`, executions per second per harness: the
 * engine in process, and the CLI with a corpus directory as one process and
 * with --workers 2). The default is `runtime` and `fuzz`.
 * `hitrate` (not in the default): the first-hit rate of each race over
 * 40 seeds x 1500 executions (3 x 500 with --quick), for tuning.
 * `sweep` (not in the default): every document switch, both sides, on its
 * harness and on mmu, `--minutes M` each (10; 0.05 with --quick), `--jobs N`
 * cells at a time.
 * `kinds` (not in the default): each race's hits per 100k generated
 * executions for every kind of new schedule and the two baselines, `--seeds
 * N` (5; 1 with --quick) x 4000 executions (500) each (bench/kind-rates.ts).
 * `compare` (not in the default): the default engine against each
 * `--variant JSON` (engine options) on the races, interleaved, with the
 * ratio of medians and its interval (bench/compare.ts).
 * `origins` (not in the default): each race's executions, steps and first
 * hits by where the input came from (generated, mutated, rescheduled,
 * conflict-directed, extended), `--seeds N` (20; 2 with --quick), the
 * default engine or one `--variant` (bench/input-origins.ts).
 * `--tools mmufuzz,random,pct,jsfuzz` picks the tools of `races` and
 * `hitrate`; `--seeds N` the number of seeds per in-process tool.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DEEP_TARGETS, DEFAULT_TOOLS, RACES, TOOLS, type Tool, benchSeeds, fuzzBench, printFuzzBench, selectRaces } from './fuzz-bench';
import { compareVariants, parseVariant, type Variant } from './compare';
import { inputOrigins } from './input-origins';
import { hitRates } from './hit-rate';
import { PRIOR_FLOOR, kindRates, logOptimalPrior } from './kind-rates';
import { sweep, sweepCells } from './sweep';
import { printRuntimeBench, runtimeBench } from './runtime-bench';

const SUITES = ['runtime', 'fuzz', 'races', 'speed', 'hitrate', 'kinds', 'sweep', 'compare', 'origins'] as const;

interface BenchOptions {
  quick: boolean;
  json?: string;
  tools: Tool[];
  seeds?: number;
  firstSeed: number;
  minutes?: number;
  jobs: number;
  races?: string[];
  variant: Variant[];
}

function parseTools(v: string): Tool[] {
  const tools = v.split(',');
  for (const t of tools) {
    if (!(TOOLS as readonly string[]).includes(t)) throw new InvalidArgumentError(`unknown tool '${t}' (known: ${TOOLS.join(', ')})`);
  }
  return tools as Tool[];
}

function parseRaces(v: string): string[] {
  const ids = v.split(',');
  for (const id of ids) {
    if (selectRaces([id]).length === 0) throw new InvalidArgumentError(`unknown race '${id}' (known: ${[...RACES, ...DEEP_TARGETS].map((r) => r.id).join(', ')})`);
  }
  return ids;
}

function parseMinutes(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of minutes > 0');
  return n;
}

function parseSeeds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

async function runSuites(names: string[], o: BenchOptions): Promise<number> {
  for (const n of names) {
    if (!(SUITES as readonly string[]).includes(n)) {
      console.error(`bench: unknown suite '${n}' (known: ${SUITES.join(', ')})`);
      return 2;
    }
  }
  const { quick, tools } = o;
  const run = names.length === 0 ? ['runtime', 'fuzz'] : names;
  const results: Record<string, unknown> = {};
  for (const s of run) {
    if (s === 'runtime') {
      const rows = runtimeBench(quick);
      printRuntimeBench(rows);
      results.runtime = rows;
    }
    if (s === 'hitrate') {
      const seeds = o.seeds ?? (quick ? 3 : 40);
      const runs = quick ? 500 : 1500;
      console.log(`hitrate: first-hit rate (seeds found / executions to each first target crash), ${seeds} seeds x ${runs} executions`);
      const inProcess = tools.filter((t): t is Exclude<Tool, 'jsfuzz'> => t !== 'jsfuzz');
      results.hitrate = hitRates(seeds, runs, inProcess, console.log, selectRaces(o.races));
    }
    if (s === 'kinds') {
      const seeds = o.seeds ?? (quick ? 1 : 5);
      const runs = quick ? 500 : 4000;
      console.log(`kinds: target hits per 100k generated executions by kind of schedule (no feedback), ${seeds} seeds x ${runs} executions each`);
      const kinds = kindRates(selectRaces(o.races), seeds, runs);
      const prior = logOptimalPrior(kinds);
      console.log(`  the log-optimal prior over these races (each kind at least ${PRIOR_FLOOR}): [${prior.map((x) => x.toFixed(3)).join(', ')}]`);
      results.kinds = { races: kinds, logOptimalPrior: prior };
    }
    if (s === 'compare') {
      if (o.variant.length === 0) {
        console.error('bench: compare needs at least one --variant (a JSON object of engine options)');
        return 2;
      }
      const plan = benchSeeds(quick, o.seeds, o.firstSeed);
      console.log(`compare: the default engine and ${o.variant.length} variant(s), ${plan.inProcess.length} seeds from seed ${plan.inProcess[0]}, ${plan.cap} s cap, interleaved`);
      results.compare = await compareVariants(selectRaces(o.races), o.variant, plan.inProcess, plan.cap);
    }
    if (s === 'origins') {
      if (o.variant.length > 1) {
        console.error('bench: origins takes at most one --variant');
        return 2;
      }
      const plan = benchSeeds(quick, o.seeds ?? (quick ? 2 : 20), o.firstSeed);
      const v = o.variant[0];
      console.log(`origins: executions and first hits by where the input came from, ${plan.inProcess.length} seeds from seed ${plan.inProcess[0]}, ${plan.cap} s cap, ${v === undefined ? 'default engine' : v.name}`);
      results.origins = inputOrigins(selectRaces(o.races), plan.inProcess.length, plan.inProcess[0]!, plan.cap, v?.opts ?? {});
    }
    if (s === 'sweep') {
      const minutes = o.minutes ?? (quick ? 0.05 : 10);
      const cells = sweepCells();
      console.log(`sweep: ${cells.length} cells x ${minutes} min, ${o.jobs} at a time (seed 1, empty corpus; time / executions to each signature's first crash)`);
      results.sweep = await sweep(cells, minutes * 60, o.jobs);
    }
    if (s === 'fuzz' || s === 'races' || s === 'speed') {
      const parts = { races: s !== 'speed', speed: s !== 'races', only: o.races };
      const plan = benchSeeds(quick, o.seeds, o.firstSeed);
      if (parts.races) console.log(`fuzz: time to first crash per seed race (${plan.inProcess.length} seeds in process from seed ${plan.inProcess[0]}, ${plan.jsfuzz.length} for jsfuzz, ${plan.cap} s cap)`);
      const r = await fuzzBench(quick, tools, console.log, parts, o.seeds, o.firstSeed);
      printFuzzBench(r);
      results[s] = r;
    }
  }
  if (o.json !== undefined) {
    const tmp = `${o.json}.tmp`;
    writeFileSync(tmp, JSON.stringify(results, null, 2) + '\n');
    renameSync(tmp, o.json);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let result: Promise<number> = Promise.resolve(0);
  const program = new Command('bench')
    .description('mmufuzz benchmarks: scheduler speed, time to each seed race, executions per second, first-hit rates')
    .argument('[suites...]', `${SUITES.join(', ')} (default: runtime fuzz)`)
    .option('--quick', 'few seeds and short caps (under 5 minutes for the default suites)', false)
    .option('--json <file>', 'also write the results as JSON (temp file, then rename)')
    .option('--tools <list>', `tools of races and hitrate, comma-separated (${TOOLS.join(',')}; default ${DEFAULT_TOOLS.join(',')})`, parseTools, [...DEFAULT_TOOLS])
    .option('--seeds <n>', 'seeds per in-process tool for races, hitrate, kinds and origins (default 31, 40, 5 and 20; 3, 3, 1 and 2 with --quick)', parseSeeds)
    .option('--first-seed <n>', 'the first seed of the in-process tools in races, compare and origins (default 1): another sample of seeds, e.g. --seeds 101 --first-seed 102', parseSeeds, 1)
    .option('--races <ids>', `races of the races, hitrate, kinds and compare suites, comma-separated (${RACES.map((r) => r.id).join(',')}; deeper targets, only when named: ${DEEP_TARGETS.map((r) => r.id).join(',')})`, parseRaces)
    .option('--minutes <m>', 'minutes per sweep cell (default 10; 0.05 with --quick)', parseMinutes)
    .option('--jobs <n>', 'sweep cells run at a time, in worker threads', parseSeeds, 1)
    .option('--variant <json>', 'compare: an engine variant, a JSON object of engine options, e.g. \'{"adaptSchedules":false}\' (repeatable)', (v: string, prev: Variant[]) => [...prev, parseVariant(v)], [] as Variant[])
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      // One line, prefixed: commander's "error: ..." becomes "bench: ...".
      writeErr: (s) => process.stderr.write(`bench: ${s.replace(/^error: /, '').trim()}\n`),
    })
    .action((names: string[], o: BenchOptions) => {
      result = runSuites(names, o);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return result;
}

main(process.argv.slice(2)).then((c) => {
  process.exitCode = c;
});
