/**
 * Where an execution's time goes, for the speed table. Inputs sampled from
 * an in-process fuzz run (what the engine really executed: generated inputs,
 * mutants, directed children) are replayed outside the engine twice: as the
 * engine runs them (feature map and conflict log) and as the model alone
 * (no feature collection). Together with the fuzz run's own rate this splits
 * one execution into model and scheduler, feedback collection, and the
 * engine (mutation, coding, corpus); `model_only_us` bounds the executions
 * per second any engine could reach at the model's step granularity.
 */
import type { Harness, HarnessConfig } from '../src/fuzz/harness';
import type { Scenario } from '../src/fuzz/scenario';
import { scenarioSource } from '../src/fuzz/scenario';
import { FeatureMap } from '../src/runtime';

export interface ExecutionCost {
  /** Inputs replayed. */
  readonly inputs: number;
  /** Steps each execution ran, on average (a set-up snapshot's steps are not run again: see Outcome.startStep). */
  readonly steps_run: number;
  /** Steps restored from set-up snapshots, on average (0 for harnesses without preludes). */
  readonly setup_steps: number;
  /** µs per execution with the engine's options: features and the conflict log. */
  readonly with_feedback_us: number;
  /** µs per execution of the model and scheduler alone. */
  readonly model_only_us: number;
}

/** Keeps every `every`-th input a harness executes, up to `max` (wrap the harness the fuzzer runs). */
export class InputSampler {
  readonly inputs: Scenario[] = [];
  private n = 0;

  constructor(private readonly every: number, private readonly max: number) {}

  /** The harness with its execute() sampling its scenarios into `inputs`. */
  wrap(h: Harness): Harness {
    const w = Object.create(h) as Harness;
    w.execute = (s, cfg, source, opts) => {
      if (this.n++ % this.every === 0 && this.inputs.length < this.max) this.inputs.push(s);
      return h.execute(s, cfg, source, opts);
    };
    return w;
  }
}

/** Replays `inputs` (one untimed pass each way, then `passes` timed ones each way, alternating; the medians kept). */
export function executionCost(h: Harness, cfg: HarnessConfig, inputs: readonly Scenario[], passes = 3): ExecutionCost {
  const fm = new FeatureMap();
  let steps = 0;
  let setup = 0;
  const pass = (feedback: boolean): number => {
    steps = 0;
    setup = 0;
    const t0 = process.hrtime.bigint();
    for (const s of inputs) {
      fm.clear();
      const o = h.execute(s, cfg, scenarioSource(s), feedback ? { features: fm, conflictLog: true } : {});
      steps += o.steps - o.startStep;
      setup += o.startStep;
    }
    return Number(process.hrtime.bigint() - t0) / 1e3 / Math.max(1, inputs.length);
  };
  // One untimed pass each way, then the timed ones alternating, so that neither side gets the JIT's late work.
  pass(false);
  pass(true);
  const model: number[] = [];
  const withFeedback: number[] = [];
  for (let k = 0; k < passes; k++) {
    model.push(pass(false));
    withFeedback.push(pass(true));
  }
  const med = (xs: number[]): number => xs.sort((x, y) => x - y)[xs.length >> 1]!;
  const n = Math.max(1, inputs.length);
  return { inputs: inputs.length, steps_run: steps / n, setup_steps: setup / n, with_feedback_us: med(withFeedback), model_only_us: med(model) };
}
