/**
 * Time (and executions) to the first crash of each seed race, for mmufuzz
 * (bytes + feedback) and the baselines: random walk without feedback, PCT
 * with d = 3 without feedback, and jsfuzz on the same harness. Always from
 * an empty corpus. Also executions per second per harness and switch side.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { HARNESSES, findHarness } from '../harnesses';
import { decode, payloadOf } from '../src/fuzz/codec';
import { Fuzzer, type FuzzEvent, type FuzzOptions, sharesWithDirect } from '../src/fuzz/engine';
import { scenarioSource } from '../src/fuzz/scenario';
import { signatureOf } from '../src/runtime';
import { type ExecutionCost, InputSampler, executionCost } from './execution-cost';
import { type MedianRatio, describeRatio, medianRatio } from './median-ratio';

export interface Race {
  /** Short name for --races: the seed number, or seed and case. */
  readonly id: string;
  readonly label: string;
  readonly harness: string;
  readonly off: string[];
  readonly variants: string[];
  readonly target: RegExp;
}

export const RACES: readonly Race[] = [
  { id: '000', label: 'seed 000 (tdp-unsync-lock off)', harness: 'unsync', off: ['tdp-unsync-lock'], variants: [], target: /^WARN clear_unsync_child_bit: unsync_children underflow$/ },
  { id: '002', label: 'seed 002 (mmio-gen-after-srcu off)', harness: 'mmio-gen', off: ['mmio-gen-after-srcu'], variants: [], target: /^INVARIANT stale-mmio: / },
  { id: '004', label: 'seed 004 (slots-arch-lock off)', harness: 'memslot-rmaps', off: ['slots-arch-lock'], variants: [], target: /rmap/ },
  { id: '003', label: 'seed 003 (roots-off-list:no-restart)', harness: 'tdp-roots', off: [], variants: ['roots-off-list:no-restart'], target: /^WARN kvm_tdp_mmu_get_root: reference on an invalid root$/ },
  { id: '001', label: 'seed 001 finding (vcpu-apicv-state on)', harness: 'apicv', off: [], variants: [], target: /^INVARIANT apic-page-mapped-at-entry: / },
  // A deeper race: seed 000's Case 2, a guest page-table write left unsynced after its TLB flush (thousands of executions, not hundreds).
  { id: '000-case2', label: 'seed 000 case 2 (missed sync)', harness: 'unsync', off: ['tdp-unsync-lock'], variants: [], target: /^INVARIANT missed-sync: / },
];

/**
 * Deeper targets, not in the default `races` suite (pass their ids to
 * `--races`): findings on the harnesses with every switch on, and document
 * races on `mmu`, which mmufuzz finds in seconds to a minute rather than
 * milliseconds. At the seed races' scale (7-70 ms for every tool) the cost
 * of an execution and JIT warm-up decide; here the search does (session 10:
 * bench/README.md).
 */
export const DEEP_TARGETS: readonly Race[] = [
  { id: 'apicv-bypass', label: 'apicv all on: apic-access-bypassed', harness: 'apicv', off: [], variants: [], target: /^INVARIANT apic-access-bypassed: / },
  { id: 'roots-acc', label: 'tdp-roots all on: acc_track UAF', harness: 'tdp-roots', off: [], variants: [], target: /^UAF handle_changed_spte_acc_track: / },
  { id: 'mmu-002', label: 'mmu, mmio-gen-after-srcu off: stale-mmio', harness: 'mmu', off: ['mmio-gen-after-srcu'], variants: [], target: /^INVARIANT stale-mmio: / },
  { id: 'mmu-000', label: 'mmu, tdp-unsync-lock off: underflow', harness: 'mmu', off: ['tdp-unsync-lock'], variants: [], target: /^WARN clear_unsync_child_bit: unsync_children underflow$/ },
];

export type Tool = 'mmufuzz' | 'mmufuzz-nodirect' | 'random' | 'pct' | 'jsfuzz';
/** Every tool `--tools` accepts; `mmufuzz-nodirect` is mmufuzz with `--direct 0` (no conflict-directed schedules: the ablation). */
export const TOOLS: readonly Tool[] = ['mmufuzz', 'mmufuzz-nodirect', 'random', 'pct', 'jsfuzz'];
/** The tools measured when `--tools` is not given. */
export const DEFAULT_TOOLS: readonly Tool[] = ['mmufuzz', 'random', 'pct', 'jsfuzz'];

/**
 * The engine options of an in-process tool: mmufuzz (bytes with feedback;
 * its default shares, or none directed) or a baseline without feedback,
 * which collects no features either (measureCoverage off): its search
 * never reads them, and until session 15 it paid 18-28% of each execution
 * for them (bench/README.md).
 */
export function toolOptions(tool: Exclude<Tool, 'jsfuzz'>): Partial<FuzzOptions> {
  if (tool === 'mmufuzz') return { strategy: 'bytes', feedback: true };
  if (tool === 'mmufuzz-nodirect') return { strategy: 'bytes', feedback: true, inputShares: sharesWithDirect(0) };
  return { strategy: tool, feedback: false, measureCoverage: false };
}

export interface Trial {
  readonly seed: number;
  readonly seconds: number | null;
  readonly execs: number | null;
  readonly signature: string | null;
}

/** One in-process trial of a tool: run until the target signature is found or `cap` seconds pass. */
export function trialInProcess(race: Race, tool: Exclude<Tool, 'jsfuzz'>, seed: number, cap: number): Trial {
  return trialWithOptions(race, toolOptions(tool), seed, cap);
}

/** One in-process trial of the engine with these options (a tool's, or a variant's: bench/compare.ts). */
export function trialWithOptions(race: Race, opts: Partial<FuzzOptions>, seed: number, cap: number): Trial {
  const h = findHarness(race.harness)!;
  const cfg = h.configure(race.off, race.variants);
  let hit: { seconds: number; execs: number; signature: string } | null = null;
  const fz = new Fuzzer(h, cfg, {
    // performance.now(): sub-millisecond, where Date.now() rounds a 5 ms first crash to whole milliseconds.
    ...opts, seed, maxTotalTime: cap, now: () => performance.now(), statusEvery: 1e9, syncEvery: 1e9,
    shouldStop: () => hit !== null,
  }, (e: FuzzEvent) => {
    if (e.event === 'crash' && hit === null && race.target.test(e.signature)) hit = { seconds: e.seconds, execs: e.execs, signature: e.signature };
  });
  fz.run();
  const h2 = hit as { seconds: number; execs: number; signature: string } | null;
  return { seed, seconds: h2?.seconds ?? null, execs: h2?.execs ?? null, signature: h2?.signature ?? null };
}

/** One jsfuzz trial in a scratch directory; jsfuzz stops at its first crash, which is replayed to get its signature. */
export async function trialJsfuzz(race: Race, seed: number, cap: number): Promise<Trial> {
  const root = resolve(__dirname, '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'mmufuzz-jsfuzz-'));
  try {
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const bin = join(root, 'node_modules', 'jsfuzz', 'build', 'src', 'index.js');
    const t0 = Date.now();
    let execs = 0;
    const child = spawn(process.execPath, [bin, `dist/harnesses/${race.harness}.js`, 'corpus'], {
      cwd: dir, env: { ...process.env, MMUFUZZ_OFF: race.off.join(','), MMUFUZZ_VARIANT: race.variants.join(','), JSFUZZ_SEED: String(seed) },
      stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    const onData = (b: Buffer): void => {
      for (const m of b.toString().matchAll(/^#(\d+)/gm)) execs = Math.max(execs, Number(m[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, cap * 1000);
    await new Promise<void>((res) => child.on('close', () => res()));
    clearTimeout(timer);
    const seconds = (Date.now() - t0) / 1000;
    const crash = readdirSync(dir).find((f) => f.startsWith('crash-'));
    if (crash === undefined) return { seed, seconds: null, execs: null, signature: null };
    const h = findHarness(race.harness)!;
    const s = decode(h, payloadOf(readFileSync(join(dir, crash))));
    const o = h.execute(s, h.configure(race.off, race.variants), scenarioSource(s), {});
    const signature = o.failure === null ? null : signatureOf(o.failure);
    const ok = signature !== null && race.target.test(signature);
    return { seed, seconds: ok ? seconds : null, execs: ok ? execs : null, signature };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(xs: readonly (number | null)[]): number | null {
  const v = xs.map((x) => (x === null ? Infinity : x)).sort((a, b) => a - b);
  const m = v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return Number.isFinite(m) ? m : null;
}

/**
 * Executions per second of mmufuzz (bytes + feedback) on a harness for
 * `seconds`, and the cost of those executions replayed outside the engine
 * (bench/execution-cost.ts; every 16th input, at most `sample`).
 */
export function execsPerSecond(harness: string, off: string[], variants: string[], seconds: number, sample = 2000): { eps: number; cost: ExecutionCost } {
  const h = findHarness(harness)!;
  const cfg = h.configure(off, variants);
  const sampler = new InputSampler(16, sample);
  const fz = new Fuzzer(sampler.wrap(h), cfg, { seed: 1, maxTotalTime: seconds, now: () => Date.now(), statusEvery: 1e9, syncEvery: 1e9 }, () => undefined);
  const r = fz.run();
  return { eps: r.execs / r.seconds, cost: executionCost(h, cfg, sampler.inputs) };
}

/** One status event of a CLI run (per worker with --workers): executions so far at a time. */
interface StatusPoint {
  readonly worker: number;
  readonly seconds: number;
  readonly execs: number;
}

/**
 * The rate of a run after its start: per worker, executions between its
 * first status at or after `from` seconds and its last status, over that
 * time; summed over the workers. Start-up (module loading, the JIT compiling
 * on both cores at once, set-up templates, the first seconds' flood of new
 * inputs) weighs on a short run's average but not on an overnight one.
 * Null when a worker has no two such statuses.
 */
export function steadyRate(points: readonly StatusPoint[], from: number): number | null {
  const workers = [...new Set(points.map((p) => p.worker))].sort((a, b) => a - b);
  let rate = 0;
  for (const w of workers) {
    const mine = points.filter((p) => p.worker === w && p.seconds >= from).sort((a, b) => a.seconds - b.seconds);
    if (mine.length < 2) return null;
    const a = mine[0]!;
    const b = mine[mine.length - 1]!;
    if (b.seconds <= a.seconds) return null;
    rate += (b.execs - a.execs) / (b.seconds - a.seconds);
  }
  return workers.length === 0 ? null : rate;
}

/**
 * Executions per second of `mmufuzz fuzz` as a user runs it: a child
 * process with a corpus directory on disk (and, with workers > 1, that many
 * worker processes sharing it). `wall`: all workers' executions over the
 * wall time, start-up included (the final `done` event); `steady`: the
 * rate over the second half of the run, from the status events
 * (steadyRate).
 */
export async function execsPerSecondCli(harness: string, off: string[], workers: number, seconds: number): Promise<{ wall: number; steady: number | null }> {
  const main = resolve(__dirname, '..', 'src', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'mmufuzz-speed-'));
  try {
    const args = [main, 'fuzz', harness, join(dir, 'corpus'), '--crashes', join(dir, 'crashes'), '--max-total-time', String(seconds), '--json', '--no-minimize'];
    if (workers > 1) args.push('--workers', String(workers));
    for (const o of off) args.push('--off', o);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let done: { execs?: number; seconds?: number } | null = null;
    const points: StatusPoint[] = [];
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => {
      if (l.startsWith('{"event":"done"')) done = JSON.parse(l) as { execs?: number; seconds?: number };
      else if (l.startsWith('{"event":"status"')) {
        const e = JSON.parse(l) as { execs: number; seconds: number; worker?: number };
        points.push({ worker: e.worker ?? 0, seconds: e.seconds, execs: e.execs });
      }
    });
    await new Promise<void>((res) => child.on('close', () => res()));
    const d = done as { execs?: number; seconds?: number } | null;
    const wall = d?.execs !== undefined && d.seconds !== undefined && d.seconds > 0 ? d.execs / d.seconds : 0;
    return { wall, steady: steadyRate(points, seconds / 2) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface FuzzBenchResult {
  readonly seeds: { in_process: number; jsfuzz: number; cap_seconds: number };
  readonly races: { race: string; tool: Tool; trials: Trial[]; median_seconds: number | null; median_execs: number | null; quartiles_execs: [number | null, number | null]; found: number }[];
  /**
   * Per race and baseline: the baseline's median time to the first crash over
   * mmufuzz's (above 1: mmufuzz is faster), with a 95% bootstrap interval and
   * whether the interval settles the side (bench/median-ratio.ts). Empty when
   * mmufuzz was not among the tools.
   */
  readonly comparisons: ({ race: string; baseline: Tool } & MedianRatio)[];
  /**
   * Per harness and side: the engine in process (no disk), and the CLI with
   * a corpus directory, one process and --workers 2; `cost`, the in-process
   * run's inputs replayed outside the engine (bench/execution-cost.ts).
   */
  readonly throughput: {
    harness: string; side: string; execs_per_second: number;
    cli_execs_per_second: number | null; workers2_execs_per_second: number | null;
    /** The CLI runs' rates over their second half (steadyRate), one process and --workers 2. */
    cli_steady: number | null; workers2_steady: number | null;
    cost: ExecutionCost;
  }[];
}

/** Seeds after which a tool that has found nothing is stopped (each further seed would cost the whole cap). */
export const GIVE_UP_AFTER = 5;

/**
 * Seeds per trial set. Times to first crash vary by 3x or more from seed to
 * seed (one lucky program decides: random walk's median on seed 000 was 157
 * executions over seeds 1-21 and 418 over seeds 22-42), so the in-process
 * tools get 31 seeds in a full run (`inProcess`, from --seeds, sets more);
 * jsfuzz, a process per trial, gets the required 5.
 */

export function benchSeeds(quick: boolean, inProcess?: number, first = 1): { inProcess: number[]; jsfuzz: number[]; cap: number } {
  const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);
  const plan = quick ? { inProcess: range(3, first), jsfuzz: range(3), cap: 8 } : { inProcess: range(31, first), jsfuzz: range(5), cap: 60 };
  // `inProcess` (--seeds): more seeds for a steadier median; `first` (--first-seed): another sample of them; jsfuzz keeps its few (a process per trial).
  return inProcess === undefined ? plan : { ...plan, inProcess: range(inProcess, first) };
}

/** The 25th and 75th percentiles (not found counts as infinite), for the spread of a trial set. */
export function quartiles(xs: readonly (number | null)[]): [number | null, number | null] {
  const v = xs.map((x) => (x === null ? Infinity : x)).sort((a, b) => a - b);
  const at = (q: number): number | null => {
    const x = v[Math.min(v.length - 1, Math.floor(q * (v.length - 1) + 0.5))]!;
    return Number.isFinite(x) ? x : null;
  };
  return v.length === 0 ? [null, null] : [at(0.25), at(0.75)];
}

/** Which halves of the fuzz benchmark to run: time to first crash per race, executions per second per harness. */
export interface FuzzBenchParts {
  readonly races: boolean;
  readonly speed: boolean;
  /** Only these races, by seed number ('000', '001', …); all when absent. */
  readonly only?: readonly string[];
}

/** The races whose id is in `only`, in bench order: every seed race when it is absent; the deep targets only by id. */
export function selectRaces(only?: readonly string[]): readonly Race[] {
  return only === undefined ? RACES : [...RACES, ...DEEP_TARGETS].filter((r) => only.includes(r.id));
}

/**
 * Every tool's trials of one race, interleaved seed by seed — seed 1 of
 * every tool, then seed 2, each seed in the reverse order of the one before
 * — so that the process's state (the JIT's work, the heap and its next
 * major GC) drifts across all tools alike instead of favouring the tool
 * measured last; races found in a few milliseconds are timed within that
 * drift. A tool that found nothing in its first GIVE_UP_AFTER seeds stops
 * there (each further seed would cost the cap). The tools may be any names
 * (bench/compare.ts runs engine variants this way); `jsfuzz` takes its
 * seeds from `jsfuzz`, every other one from `inProcess`.
 */
export async function raceTrials<K extends string>(race: Race, tools: readonly K[], inProcess: readonly number[], jsfuzz: readonly number[], cap: number,
  run: (tool: K, seed: number) => Trial | Promise<Trial> = (tool, seed) => (tool === 'jsfuzz' ? trialJsfuzz(race, seed, cap) : trialInProcess(race, tool as Exclude<Tool, 'jsfuzz'>, seed, cap))): Promise<Map<K, Trial[]>> {
  const out = new Map<K, Trial[]>(tools.map((t) => [t, []]));
  const rounds = Math.max(inProcess.length, jsfuzz.length);
  for (let k = 0; k < rounds; k++) {
    const order = k % 2 === 0 ? tools : [...tools].reverse();
    for (const tool of order) {
      const seeds = tool === 'jsfuzz' ? jsfuzz : inProcess;
      const mine = out.get(tool)!;
      if (k >= seeds.length) continue;
      if (mine.length >= GIVE_UP_AFTER && mine.every((t) => t.seconds === null)) continue;
      mine.push(await run(tool, seeds[k]!));
    }
  }
  return out;
}

export async function fuzzBench(quick: boolean, tools: readonly Tool[] = DEFAULT_TOOLS, log: (s: string) => void = console.log, parts: FuzzBenchParts = { races: true, speed: true }, seeds?: number, firstSeed = 1): Promise<FuzzBenchResult> {
  const plan = benchSeeds(quick, seeds, firstSeed);
  const cap = plan.cap;
  const races: FuzzBenchResult['races'] = [];
  const comparisons: FuzzBenchResult['comparisons'] = [];
  for (const race of parts.races ? selectRaces(parts.only) : []) {
    // Warm up the JIT on this harness first, untimed, so that the first tool measured does not pay for it.
    for (const tool of tools) if (tool !== 'jsfuzz') trialInProcess(race, tool, 1000, quick ? 0.3 : 1);
    const trials = await raceTrials(race, tools, plan.inProcess, plan.jsfuzz, cap);
    for (const tool of tools) {
      const mine = trials.get(tool)!;
      const seeds = tool === 'jsfuzz' ? plan.jsfuzz : plan.inProcess;
      const execs = mine.map((t) => t.execs);
      const row = { race: race.label, tool, trials: mine, median_seconds: median(mine.map((t) => t.seconds)), median_execs: median(execs), quartiles_execs: quartiles(execs), found: mine.filter((t) => t.seconds !== null).length };
      races.push(row);
      const [q1, q3] = row.quartiles_execs;
      log(`  ${race.label.padEnd(40)} ${tool.padEnd(14)} found ${row.found}/${seeds.length}  median ${fmt(row.median_seconds, 's')}  ${fmt(row.median_execs, ' execs')}  (quartiles ${q1 ?? '-'}..${q3 ?? '-'})`);
    }
    // By how much mmufuzz is faster than each baseline, and whether these seeds settle it.
    const mine = trials.get('mmufuzz');
    for (const tool of tools) {
      if (mine === undefined || tool === 'mmufuzz') continue;
      const r = medianRatio(mine.map((t) => t.seconds), trials.get(tool)!.map((t) => t.seconds));
      comparisons.push({ race: race.label, baseline: tool, ...r });
      log(`  ${''.padEnd(40)} ${tool} median / mmufuzz median: ${describeRatio(r)}`);
    }
  }
  const throughput: FuzzBenchResult['throughput'] = [];
  const secs = quick ? 2 : 10;
  for (const h of parts.speed ? HARNESSES : []) {
    for (const side of ['on', 'off'] as const) {
      const race = RACES.find((r) => r.harness === h.name);
      const off = side === 'on' ? [] : race?.off.length ? race.off : ['tdp-unsync-lock', 'vcpu-apicv-state', 'mmio-gen-after-srcu', 'roots-off-list', 'slots-arch-lock'];
      const { eps, cost } = execsPerSecond(h.name, off, [], secs, quick ? 300 : 2000);
      // The CLI runs (disk corpus; two workers need both cores) in full runs only.
      const cli = quick ? null : await execsPerSecondCli(h.name, off, 1, secs);
      const w2 = quick ? null : await execsPerSecondCli(h.name, off, 2, secs);
      const round = (x: number | null | undefined): number | null => (x === null || x === undefined ? null : Math.round(x));
      throughput.push({
        harness: h.name, side: side === 'on' ? 'all on' : `off: ${off.join(', ')}`, execs_per_second: Math.round(eps),
        cli_execs_per_second: round(cli?.wall), workers2_execs_per_second: round(w2?.wall), cli_steady: round(cli?.steady), workers2_steady: round(w2?.steady), cost,
      });
      log(`  ${h.name.padEnd(14)} ${String(Math.round(eps)).padStart(7)} exec/s in process${cli === null || w2 === null ? '' : `, CLI ${round(cli.wall)} (second half ${round(cli.steady) ?? '-'}), --workers 2: ${round(w2.wall)} (second half ${round(w2.steady) ?? '-'})`}  (${side}); `
        + `replayed: ${cost.steps_run.toFixed(0)} steps run, model alone ${cost.model_only_us.toFixed(1)} µs, with feedback ${cost.with_feedback_us.toFixed(1)} µs, in the engine ${(1e6 / eps).toFixed(1)} µs per execution`);
    }
  }
  return { seeds: { in_process: plan.inProcess.length, jsfuzz: plan.jsfuzz.length, cap_seconds: cap }, races, comparisons, throughput };
}

function fmt(x: number | null, unit: string): string {
  return x === null ? 'not found'.padStart(10) : `${secondsText(x)}${unit}`.padStart(10);
}

/**
 * A time to first crash: medians of these races run from a few to hundreds
 * of milliseconds, so four decimals below 0.1 s (three would print 5 ms and
 * 8 ms medians as equals, or as a 1.6x lead), three below 1 s.
 */
function secondsText(x: number): string {
  return x < 0.1 ? x.toFixed(4) : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : String(Math.round(x));
}

/** The comparison table: mmufuzz's median against each baseline's, per race. */
export function printFuzzBench(r: FuzzBenchResult, log: (s: string) => void = console.log): void {
  if (r.races.length > 0) {
    log('');
    log('time / executions to the first crash (median over seeds, empty corpus)');
    const shown = TOOLS.filter((t) => r.races.some((x) => x.tool === t));
    log(`${'race'.padEnd(40)} ${shown.map((t) => t.padStart(18)).join('')}`);
    // Every seed race (a '-' where not run), then the deep targets that were run.
    for (const race of [...RACES, ...DEEP_TARGETS.filter((x) => r.races.some((row) => row.race === x.label))]) {
      const cells = shown.map((t) => {
        const row = r.races.find((x) => x.race === race.label && x.tool === t);
        const cell = row === undefined ? '-' : row.median_seconds === null ? `not found` : `${secondsText(row.median_seconds)}s/${Math.round(row.median_execs ?? 0)}`;
        return `${cell}${row !== undefined && row.found < row.trials.length ? ` ${row.found}/${row.trials.length}` : ''}`.padStart(18);
      });
      log(`${race.label.padEnd(40)} ${cells.join('')}`);
      for (const c of r.comparisons.filter((x) => x.race === race.label)) log(`${''.padEnd(40)}   vs ${c.baseline}: ${describeRatio(c)}`);
    }
  }
  if (r.throughput.length > 0) {
    log('');
    log('executions per second (mmufuzz): in process without disk | CLI with a corpus directory | CLI --workers 2 (two cores); each CLI cell: over the whole run / over its second half');
    log('  | the in-process inputs replayed: steps run per execution, µs per execution of the model alone, with feedback collection, in the engine | the model alone\'s ceiling (exec/s)');
    const n = (x: number | null): string => (x === null ? '-' : String(x)).padStart(7);
    const half = (x: number | null): string => (x === null ? '-' : String(x)).padEnd(6);
    const us = (x: number): string => x.toFixed(1).padStart(6);
    for (const t of r.throughput) {
      const c = t.cost;
      log(`  ${t.harness.padEnd(14)} ${n(t.execs_per_second)} ${n(t.cli_execs_per_second)}/${half(t.cli_steady)} ${n(t.workers2_execs_per_second)}/${half(t.workers2_steady)} | ${c.steps_run.toFixed(0).padStart(4)} ${us(c.model_only_us)} ${us(c.with_feedback_us)} ${us(1e6 / Math.max(1, t.execs_per_second))} | ${n(Math.round(1e6 / c.model_only_us))}  ${t.side}`);
    }
  }
}
