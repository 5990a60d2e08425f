/**
 * `mmufuzz fuzz <harness> [corpus-dir ...]` (DESIGN.md §6): runs the engine
 * on one harness and switch configuration, prints libFuzzer-shaped status
 * lines (or JSON events with --json), stores crashes, and exits 1 when it
 * found any crash, 0 when none, 2 on bad input.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { HARNESSES, findHarness } from '../../harnesses';
import { DEFAULT_FUZZ_OPTIONS, type FuzzEvent, Fuzzer, STRATEGIES, type Strategy, sharesWithDirect } from '../fuzz/engine';
import { CorpusWriteError } from '../fuzz/corpus-store';
import { minimize } from '../minimize/minimize';

export interface FuzzCliOptions {
  off: string[];
  variant: string[];
  seed: number;
  maxTotalTime: number;
  runs: number;
  workers: number;
  crashes: string;
  strategy: Strategy;
  stopOnCrash: boolean;
  json: boolean;
  feedback: boolean;
  minimize: boolean;
  /** Share of inputs with a conflict-directed schedule (Mutator.direct). */
  direct: number;
}

export class UsageError extends Error {}

/** Checks that `dir` exists or can be created, and is writable; throws UsageError with one line otherwise. */
export function writableDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(`${what} '${dir}' is not writable (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

function statusLine(e: Extract<FuzzEvent, { event: 'new' | 'reduce' | 'status' }>): string {
  const tag = e.event === 'new' ? 'NEW ' : e.event === 'reduce' ? 'REDUCE' : 'pulse';
  return `#${e.execs}\t${tag}\tcov: ${e.cov} ft: ${e.ft} corp: ${e.corp}/${e.bytes}b exec/s: ${e.exec_s} crashes: ${e.crashes}`;
}

/** Prints one event as a human line (or JSON). */
export function printer(json: boolean, out: (s: string) => void, err: (s: string) => void): (e: FuzzEvent) => void {
  return (e) => {
    if (json) {
      out(JSON.stringify(e));
      return;
    }
    switch (e.event) {
      case 'start':
        err(`INFO: fuzzing harness ${e.harness} (strategy ${e.strategy}, seed ${e.seed}); ${e.off.length === 0 ? 'all switches on' : `off: ${e.off.join(', ')}`}${e.variants.length > 0 ? `; variants: ${e.variants.join(', ')}` : ''}; ${e.corpus} corpus inputs`);
        break;
      case 'new':
      case 'reduce':
      case 'status':
        err(statusLine(e));
        break;
      case 'crash':
        if (e.duplicate) err(`#${e.execs}\tDUP  \t${e.signature}`);
        else err(`#${e.execs}\tCRASH\t${e.signature}${e.file === null ? '' : `\n\tsaved: ${e.file}`}`);
        break;
      case 'minimized':
        err(`\tminimized: ${e.ops} ops, ${e.preemptions} preemptions, ${e.steps} steps\n\tsaved: ${e.file}`);
        break;
      case 'bad-input':
        err(`WARNING: skipping ${e.file}: ${e.why}`);
        break;
      case 'model-error':
        err(`MODEL ERROR (a bug in mmufuzz's model, not a kernel crash): ${e.message}`);
        break;
      case 'done': {
        err(`Done ${e.execs} runs in ${e.seconds.toFixed(1)} s (${e.stopped}); corp: ${e.corp}, cov: ${e.cov}, ft: ${e.ft}`);
        const top = [...e.schedules].sort((a, b) => b.share - a.share).slice(0, 3);
        if (top.length > 0) err(`Schedules most used (steered by failures): ${top.map((x) => `${x.schedule} ${Math.round(100 * x.share)}%`).join(', ')}`);
        if (e.crashes.length === 0) out('no crashes found');
        for (const c of e.crashes) out(`CRASH ${c.signature}\n  found after ${c.execs_to_find} execs, ${c.seconds_to_find.toFixed(2)} s${c.file === null ? '' : `\n  ${c.file}`}`);
        break;
      }
    }
  };
}

/** Runs the command; returns the exit code. */
export async function runFuzz(harnessName: string, dirs: string[], o: FuzzCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const h = findHarness(harnessName);
  if (h === undefined) throw new UsageError(`unknown harness '${harnessName}' (known: ${HARNESSES.map((x) => x.name).join(', ')})`);
  if (!STRATEGIES.includes(o.strategy)) throw new UsageError(`unknown strategy '${o.strategy}' (known: ${STRATEGIES.join(', ')})`);
  let cfg;
  try {
    cfg = h.configure(o.off, o.variant);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const corpusDirs = dirs.map((d) => resolve(d));
  if (corpusDirs.length > 0) writableDir(corpusDirs[0]!, 'corpus directory');
  writableDir(o.crashes, 'crash directory');
  if (o.workers > 1) return runWorkers(harnessName, dirs, o, out, err);
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const fuzzer = new Fuzzer(h, cfg, {
      ...DEFAULT_FUZZ_OPTIONS,
      seed: o.seed, strategy: o.strategy, maxTotalTime: o.maxTotalTime, runs: o.runs, stopOnCrash: o.stopOnCrash, feedback: o.feedback,
      inputShares: sharesWithDirect(o.direct), corpusDirs, crashDir: resolve(o.crashes), now: () => Date.now(), shouldStop: () => stop,
      minimizer: o.minimize ? (h2, cfg2, s, sig) => minimize(h2, cfg2, s, sig, { maxExecutions: 3000 }).scenario : null,
    }, printer(o.json, out, err));
    const r = await fuzzer.runAsync();
    return r.crashes.length > 0 || fuzzer.duplicatesSeen > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof CorpusWriteError) throw new UsageError(e.message);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * `--workers N`: N child processes (seeds seed..seed+N-1) share the corpus and
 * crash directories; each re-reads them every few seconds, and crash
 * signatures are claimed by creating their directory, so each is stored
 * once. The parent prints the children's events and one merged summary.
 */
async function runWorkers(harnessName: string, dirs: string[], o: FuzzCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const main = resolve(__dirname, 'main.js');
  const crashes = new Map<string, { signature: string; file: string | null; execs_to_find: number; seconds_to_find: number; worker: number }>();
  let execs = 0;
  let seconds = 0;
  const children = Array.from({ length: o.workers }, (_, i) => {
    const args = [main, 'fuzz', harnessName, ...dirs, '--json', '--seed', String(o.seed + i), '--crashes', o.crashes, '--strategy', o.strategy,
      '--max-total-time', String(o.maxTotalTime), '--runs', String(o.runs),
      ...o.off.flatMap((x) => ['--off', x]), ...o.variant.flatMap((x) => ['--variant', x]), ...(o.stopOnCrash ? ['--stop-on-crash'] : []),
      ...(o.minimize ? [] : ['--no-minimize']), ...(o.feedback ? [] : ['--no-feedback']), '--direct', String(o.direct)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      let e: FuzzEvent;
      try {
        e = JSON.parse(line) as FuzzEvent;
      } catch {
        return;
      }
      if (e.event === 'done') {
        execs += e.execs;
        seconds = Math.max(seconds, e.seconds);
        for (const c of e.crashes) if (!crashes.has(c.signature)) crashes.set(c.signature, { ...c, worker: i });
        return;
      }
      if (o.json) out(JSON.stringify({ ...e, worker: i }));
      else if (e.event === 'crash' && !e.duplicate) err(`[worker ${i}] #${e.execs}\tCRASH\t${e.signature}${e.file === null ? '' : `\n\tsaved: ${e.file}`}`);
      else if (e.event === 'status' || e.event === 'new' || e.event === 'reduce') err(`[worker ${i}] ${statusLine(e)}`);
    });
    return new Promise<number>((res) => child.on('close', (code) => res(code ?? 1)));
  });
  const forward = (sig: NodeJS.Signals) => (): void => {
    // Children get the signal from the terminal's process group; nothing else to do but wait.
    err(`INFO: ${sig}: waiting for workers to finish`);
  };
  const onInt = forward('SIGINT');
  process.on('SIGINT', onInt);
  const codes = await Promise.all(children);
  process.off('SIGINT', onInt);
  const list = [...crashes.values()];
  const done = { event: 'done' as const, execs, seconds, workers: o.workers, crashes: list.map(({ worker: _w, ...c }) => c) };
  if (o.json) out(JSON.stringify(done));
  else {
    err(`Done ${execs} runs in ${seconds.toFixed(1)} s with ${o.workers} workers (${Math.round(execs / Math.max(seconds, 1e-9))} exec/s)`);
    if (list.length === 0) out('no crashes found');
    for (const c of list) out(`CRASH ${c.signature}\n  found by worker ${c.worker} after ${c.execs_to_find} execs, ${c.seconds_to_find.toFixed(2)} s${c.file === null ? '' : `\n  ${c.file}`}`);
  }
  // A worker exits 1 when it saw a crash (new or already stored), 2+ when it failed.
  const failed = codes.filter((c) => c >= 2).length;
  if (failed > 0) err(`mmufuzz: ${failed} of ${o.workers} workers failed`);
  return failed > 0 ? 2 : list.length > 0 || codes.includes(1) ? 1 : 0;
}
