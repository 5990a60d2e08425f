/**
 * Minimization of a crashing scenario, keeping its exact signature:
 * 1. convert random switches into explicit preemptions (the schedule the
 *    execution actually took, as a plain list), so every context switch is
 *    visible and removable;
 * 2. remove operations (delta debugging per thread, then one at a time);
 * 3. remove preemptions (the fewest context switches that still reproduce),
 *    then model choices;
 * 4. canonicalise: smallest arguments, preemptions as early as possible.
 * Every candidate is one deterministic execution.
 */
import { FuzzBytesSource, decodePreemptions, encodePreemptions, type Preemption } from '../strategies/fuzz-bytes';
import { signatureOf } from '../runtime';
import type { DecisionSource, ExecutionInfo } from '../runtime/decision-source';
import type { Harness, HarnessConfig } from '../fuzz/harness';
import type { Op, Scenario } from '../fuzz/scenario';

/**
 * Wraps a decision source and records the picks that differ from the serial
 * default (keep the current thread while it can run and is not spinning;
 * else the next runnable one): exactly the preemptions a plain schedule needs.
 */
class DeviationRecorder implements DecisionSource {
  readonly name = 'record';
  readonly deviations: Preemption[] = [];
  constructor(private readonly inner: DecisionSource) {}
  beginExecution(info: ExecutionInfo): void {
    this.inner.beginExecution(info);
  }
  nextThread(runnable: readonly number[], count: number, current: number, step: number, yielding: boolean): number {
    const pick = this.inner.nextThread(runnable, count, current, step, yielding);
    let serial = -1;
    for (let i = 0; i < count; i++) if (runnable[i] === current && !yielding) serial = current;
    if (serial < 0) {
      serial = runnable[0]!;
      for (let i = 0; i < count; i++) {
        if (runnable[i]! > current) {
          serial = runnable[i]!;
          break;
        }
      }
    }
    if (pick !== serial) this.deviations.push({ step, thread: pick });
    return pick;
  }
  nextChoice(n: number, label: string): number {
    return this.inner.nextChoice(n, label);
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

export function minimize(h: Harness, cfg: HarnessConfig, s0: Scenario, signature: string, opts: Partial<MinimizeOptions> = {}): MinimizeResult {
  const budget = opts.maxExecutions ?? 20_000;
  let executions = 0;
  const reproduces = (s: Scenario): boolean => {
    if (executions >= budget) return false;
    executions++;
    const o = h.execute(s, cfg, new FuzzBytesSource(s.schedule, s.choices, { seed: s.walkSeed, rate: s.walkRate }), {});
    return o.failure !== null && signatureOf(o.failure) === signature;
  };
  const count = (s: Scenario): { ops: number; preemptions: number } => ({
    ops: s.programs.reduce((n, p) => n + p.length, 0),
    preemptions: decodePreemptions(s.schedule).length,
  });
  const before = count(s0);
  if (!reproduces(s0)) throw new Error(`the scenario does not reproduce ${signature}`);
  let best = s0;

  // 1. Fewer random switches (the lowest rate that still reproduces, same seed), then
  //    random switches → explicit preemptions where the schedule left the serial default.
  for (const rate of [0, 2, 4, 8, 16, 32, 64, 128]) {
    if (rate >= best.walkRate) break;
    const cand: Scenario = { ...best, walkRate: rate };
    if (reproduces(cand)) {
      best = cand;
      break;
    }
  }
  if (best.walkRate !== 0) {
    const rec = new DeviationRecorder(new FuzzBytesSource(best.schedule, best.choices, { seed: best.walkSeed, rate: best.walkRate }));
    executions++;
    h.execute(best, cfg, rec, {});
    const explicit: Scenario = { ...best, walkSeed: 0, walkRate: 0, schedule: encodePreemptions(rec.deviations) };
    if (reproduces(explicit)) best = explicit;
  }

  const withOps = (programs: readonly (readonly Op[])[]): Scenario => ({ ...best, programs });
  const withPre = (pre: readonly Preemption[]): Scenario => ({ ...best, schedule: encodePreemptions(pre) });

  let changed = true;
  while (changed && executions < budget) {
    changed = false;
    // 2. Operations: whole threads, halves, then single operations.
    for (let slot = 0; slot < best.programs.length; slot++) {
      const prog = best.programs[slot]!;
      if (prog.length === 0) continue;
      const tryProg = (p: readonly Op[]): boolean => {
        const programs = best.programs.map((x, i) => (i === slot ? p : x));
        const cand = withOps(programs);
        if (reproduces(cand)) {
          best = cand;
          changed = true;
          return true;
        }
        return false;
      };
      if (tryProg([])) continue;
      for (let chunk = Math.floor(best.programs[slot]!.length / 2); chunk >= 1; chunk = Math.floor(chunk / 2)) {
        for (let i = 0; i + chunk <= best.programs[slot]!.length;) {
          const p = best.programs[slot]!;
          if (!tryProg([...p.slice(0, i), ...p.slice(i + chunk)])) i += chunk;
        }
      }
    }
    // 3. Preemptions: blocks of them (delta debugging), then one at a time (latest
    //    first, so earlier ones keep their steps).
    let pre = decodePreemptions(best.schedule);
    for (let chunk = Math.floor(pre.length / 2); chunk >= 2; chunk = Math.floor(chunk / 2)) {
      for (let i = 0; i + chunk <= pre.length;) {
        const cand = withPre([...pre.slice(0, i), ...pre.slice(i + chunk)]);
        if (reproduces(cand)) {
          best = cand;
          pre = decodePreemptions(best.schedule);
          changed = true;
        } else {
          i += chunk;
        }
      }
    }
    for (let i = pre.length - 1; i >= 0; i--) {
      const cand = withPre([...pre.slice(0, i), ...pre.slice(i + 1)]);
      if (reproduces(cand)) {
        best = cand;
        pre = decodePreemptions(best.schedule);
        changed = true;
      }
    }
    // Model choices: drop trailing ones, then zero each.
    for (let n = best.choices.length - 1; n >= 0; n--) {
      const cand: Scenario = { ...best, choices: best.choices.slice(0, n) };
      if (reproduces(cand)) {
        best = cand;
        changed = true;
      } else break;
    }
  }
  // 4. Canonicalise: smallest arguments, earliest preemption steps, config 0.
  for (let slot = 0; slot < best.programs.length; slot++) {
    for (let k = 0; k < best.programs[slot]!.length; k++) {
      const op = best.programs[slot]![k]!;
      for (let a = 0; a < op.args.length; a++) {
        for (let v = 0; v < op.args[a]!; v++) {
          const args = op.args.map((x, j) => (j === a ? v : x));
          const programs = best.programs.map((p, i) => (i === slot ? p.map((o2, j) => (j === k ? { kind: o2.kind, args } : o2)) : p));
          const cand = withOps(programs);
          if (reproduces(cand)) {
            best = cand;
            break;
          }
        }
      }
    }
  }
  const pre = decodePreemptions(best.schedule);
  for (let i = 0; i < pre.length; i++) {
    const lo = i === 0 ? 0 : pre[i - 1]!.step;
    for (let step = lo; step < pre[i]!.step; step++) {
      const cand = withPre(pre.map((p, j) => (j === i ? { step, thread: p.thread } : p)));
      if (reproduces(cand)) {
        best = cand;
        pre[i] = { step, thread: pre[i]!.thread };
        break;
      }
      if (executions >= budget) break;
    }
  }
  if (best.config !== 0 && reproduces({ ...best, config: 0 })) best = { ...best, config: 0 };
  return { scenario: best, executions, before, after: count(best) };
}
