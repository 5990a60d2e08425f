/**
 * Minimization of a crashing scenario, keeping its exact signature.
 *
 * The schedule is minimized in a thread-relative form: a preemption is "when
 * thread C has run k steps and could go on, run U instead". Unlike a global
 * step number, such a preemption keeps its meaning when other preemptions or
 * operations are removed, so delta debugging converges. Steps:
 * 1. record the execution's deviations from the serial default (explicit
 *    preemptions and random switches alike) as relative preemptions;
 * 2. remove operations (whole threads, halves, single ones) and preemptions
 *    (blocks, then single ones), and model choices, until nothing more goes;
 * 3. canonicalise arguments (smallest values) and the config byte;
 * 4. turn the relative schedule back into explicit global-step preemptions
 *    (no random switches) and check the result once more.
 * Every candidate is one deterministic execution.
 */
import { signatureOf } from '../runtime';
import type { DecisionSource, ExecutionInfo } from '../runtime/decision-source';
import { decodePreemptions, encodePreemptions, type Preemption } from '../strategies/fuzz-bytes';
import type { Harness, HarnessConfig } from '../fuzz/harness';
import { type Op, type Scenario, scenarioSource } from '../fuzz/scenario';

/** When thread `after` has run `steps` steps, run thread `run` instead (if it can). */
export interface RelativePreemption {
  readonly after: number;
  readonly steps: number;
  readonly run: number;
}

/** The serial default: the current thread while it can run and is not spinning, else the next runnable one. */
function serialPick(runnable: readonly number[], count: number, current: number, yielding: boolean): number {
  if (!yielding) for (let i = 0; i < count; i++) if (runnable[i] === current) return current;
  for (let i = 0; i < count; i++) if (runnable[i]! > current) return runnable[i]!;
  return runnable[0]!;
}

/** Counts the steps each thread has run, from the picks it is asked for or told about. */
abstract class CountingSource implements DecisionSource {
  abstract readonly name: string;
  protected steps: number[] = [];
  beginExecution(info: ExecutionInfo): void {
    this.steps = new Array<number>(info.threads).fill(0);
  }
  protected ran(id: number): void {
    this.steps[id] = (this.steps[id] ?? 0) + 1;
  }
  observeForced(id: number): void {
    this.ran(id);
  }
  abstract nextThread(runnable: readonly number[], count: number, current: number, step: number, yielding: boolean): number;
  abstract nextChoice(n: number, label: string): number;
}

/** Wraps a source and records where it left the serial default, as relative preemptions. */
class RelativeRecorder extends CountingSource {
  readonly name = 'record';
  readonly recorded: RelativePreemption[] = [];
  constructor(private readonly inner: DecisionSource) {
    super();
  }
  override beginExecution(info: ExecutionInfo): void {
    super.beginExecution(info);
    this.inner.beginExecution(info);
  }
  nextThread(runnable: readonly number[], count: number, current: number, step: number, yielding: boolean): number {
    const pick = this.inner.nextThread(runnable, count, current, step, yielding);
    if (pick !== serialPick(runnable, count, current, yielding)) this.recorded.push({ after: current, steps: this.steps[current] ?? 0, run: pick });
    this.ran(pick);
    return pick;
  }
  nextChoice(n: number, label: string): number {
    return this.inner.nextChoice(n, label);
  }
}

/** Replays relative preemptions (serial default otherwise); records the global steps where it deviated. */
class RelativeSource extends CountingSource {
  readonly name = 'relative';
  readonly global: Preemption[] = [];
  private c = 0;
  constructor(private readonly pre: readonly RelativePreemption[], private readonly choices: Uint8Array) {
    super();
  }
  override beginExecution(info: ExecutionInfo): void {
    super.beginExecution(info);
    this.c = 0;
    this.global.length = 0;
  }
  nextThread(runnable: readonly number[], count: number, current: number, step: number, yielding: boolean): number {
    let pick = serialPick(runnable, count, current, yielding);
    const k = current < 0 ? 0 : this.steps[current] ?? 0;
    for (const p of this.pre) {
      if (p.after !== current || p.steps !== k) continue;
      for (let i = 0; i < count; i++) if (runnable[i] === p.run) pick = p.run;
    }
    if (pick !== serialPick(runnable, count, current, yielding)) this.global.push({ step, thread: pick });
    this.ran(pick);
    return pick;
  }
  nextChoice(n: number): number {
    return this.c < this.choices.length ? this.choices[this.c++]! % n : 0;
  }
}

export interface MinimizeResult {
  readonly scenario: Scenario;
  readonly executions: number;
  readonly before: { ops: number; preemptions: number };
  readonly after: { ops: number; preemptions: number };
}

/** Options: a budget of executions (default 20 000). */
export interface MinimizeOptions {
  maxExecutions: number;
}

interface Candidate {
  readonly s: Scenario;
  readonly pre: readonly RelativePreemption[];
}

export function minimize(h: Harness, cfg: HarnessConfig, s0: Scenario, signature: string, opts: Partial<MinimizeOptions> = {}): MinimizeResult {
  const budget = opts.maxExecutions ?? 20_000;
  let executions = 0;
  const hits = (src: DecisionSource, s: Scenario): boolean => {
    executions++;
    const o = h.execute(s, cfg, src, {});
    return o.failure !== null && signatureOf(o.failure) === signature;
  };
  const ops = (s: Scenario): number => s.programs.reduce((n, p) => n + p.length, 0);
  const before = { ops: ops(s0), preemptions: decodePreemptions(s0.schedule).length };

  // 1. The execution's deviations from the serial default, thread-relative.
  const rec = new RelativeRecorder(scenarioSource(s0));
  if (!hits(rec, s0)) throw new Error(`the scenario does not reproduce ${signature}`);
  let best: Candidate = { s: s0, pre: rec.recorded };
  const ok = (c: Candidate): boolean => executions < budget && hits(new RelativeSource(c.pre, c.s.choices), c.s);
  if (!ok(best)) {
    // The relative form does not replay this one (e.g. a spin that depends on timing): keep the input as it is.
    return { scenario: s0, executions, before, after: before };
  }
  const accept = (c: Candidate): boolean => {
    if (!ok(c)) return false;
    best = c;
    return true;
  };

  // 2. Operations, preemptions and choices, until a whole pass removes nothing.
  let changed = true;
  while (changed && executions < budget) {
    changed = false;
    for (let slot = 0; slot < best.s.programs.length; slot++) {
      const setProg = (p: readonly Op[]): Candidate => ({ ...best, s: { ...best.s, programs: best.s.programs.map((x, i) => (i === slot ? p : x)) } });
      if (best.s.programs[slot]!.length === 0) continue;
      if (accept(setProg([]))) {
        changed = true;
        continue;
      }
      for (let chunk = Math.floor(best.s.programs[slot]!.length / 2); chunk >= 1; chunk = Math.floor(chunk / 2)) {
        for (let i = 0; i + chunk <= best.s.programs[slot]!.length;) {
          const p = best.s.programs[slot]!;
          if (accept(setProg([...p.slice(0, i), ...p.slice(i + chunk)]))) changed = true;
          else i += chunk;
        }
      }
    }
    for (let chunk = Math.max(1, Math.floor(best.pre.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
      for (let i = 0; i + chunk <= best.pre.length;) {
        if (accept({ ...best, pre: [...best.pre.slice(0, i), ...best.pre.slice(i + chunk)] })) changed = true;
        else i += chunk;
      }
      if (chunk === 1) break;
    }
    for (let n = best.s.choices.length - 1; n >= 0; n--) {
      if (accept({ ...best, s: { ...best.s, choices: best.s.choices.slice(0, n) } })) changed = true;
      else break;
    }
  }

  // 3. Canonical arguments and config.
  for (let slot = 0; slot < best.s.programs.length; slot++) {
    for (let k = 0; k < best.s.programs[slot]!.length; k++) {
      const op = best.s.programs[slot]![k]!;
      for (let a = 0; a < op.args.length; a++) {
        for (let v = 0; v < op.args[a]!; v++) {
          const args = op.args.map((x, j) => (j === a ? v : x));
          const programs = best.s.programs.map((p, i) => (i === slot ? p.map((o2, j) => (j === k ? { kind: o2.kind, args } : o2)) : p));
          if (accept({ ...best, s: { ...best.s, programs } })) break;
        }
      }
    }
  }
  if (best.s.config !== 0) accept({ ...best, s: { ...best.s, config: 0 } });

  // 4. Back to explicit global-step preemptions, checked.
  const rel = new RelativeSource(best.pre, best.s.choices);
  executions++;
  h.execute(best.s, cfg, rel, {});
  const out: Scenario = { ...best.s, walkSeed: 0, walkRate: 0, pct: false, schedule: encodePreemptions(rel.global) };
  if (!hits(scenarioSource(out), out)) {
    return { scenario: s0, executions, before, after: before };
  }
  return { scenario: out, executions, before, after: { ops: ops(out), preemptions: rel.global.length } };
}
