import { decodePreemptions } from '../strategies/fuzz-bytes';
import type { Scenario } from './scenario';

/**
 * What a run of a scenario read of its decision bytes: the step of its
 * last real scheduling decision (FuzzBytesSource.nextThread is asked only
 * there, so a schedule record at a later step is never applied) and how
 * many model choices it asked (Execution.choose; each reads one choice
 * byte). UNKNOWN_USE when the run is not known: then every byte counts.
 */
export interface DecisionUse {
  readonly lastDecision: number;
  readonly choices: number;
}

export const UNKNOWN_USE: DecisionUse = { lastDecision: Infinity, choices: Infinity };

/** What an execution's decision log says it read (Outcome.decisionSteps and decisions.choices). */
export function decisionUse(decisionSteps: readonly number[], choices: readonly unknown[]): DecisionUse {
  return { lastDecision: decisionSteps.length === 0 ? -1 : decisionSteps[decisionSteps.length - 1]!, choices: choices.length };
}

/**
 * True when scenario `b` is certain to run exactly as `a` ran, given what
 * `a`'s run read (`use`): the same configuration and programs, the same
 * schedule kind and random-switch generator, the same schedule records up
 * to `a`'s last decision, and the same choice bytes up to the choices `a`
 * asked. The model is deterministic, so every decision `b`'s run asks
 * gets `a`'s answer and its run ends where `a`'s did: executing it would
 * repeat `a`'s execution, features and failure included. False is not a
 * promise that the runs differ (a preemption at a step where the named
 * thread already runs changes nothing, for one). The engine uses it to
 * skip mutations that change only bytes the parent's run never read.
 */
export function runsAlike(a: Scenario, b: Scenario, use: DecisionUse): boolean {
  if (a.config !== b.config || a.pct !== b.pct) return false;
  // PCT mode draws its priorities from the seed; otherwise the seed drives random switches only when the rate is not 0.
  if (a.pct ? a.walkSeed !== b.walkSeed : a.walkRate !== b.walkRate || (a.walkRate !== 0 && a.walkSeed !== b.walkSeed)) return false;
  if (!sameChoicePrefix(a.choices, b.choices, use.choices)) return false;
  if (!samePrograms(a, b)) return false;
  return sameRecordsUpTo(a.schedule, b.schedule, use.lastDecision);
}

function samePrograms(a: Scenario, b: Scenario): boolean {
  if (a.programs.length !== b.programs.length) return false;
  for (let i = 0; i < a.programs.length; i++) {
    const pa = a.programs[i]!;
    const pb = b.programs[i]!;
    if (pa.length !== pb.length) return false;
    for (let k = 0; k < pa.length; k++) {
      const x = pa[k]!;
      const y = pb[k]!;
      if (x.kind !== y.kind || x.args.length !== y.args.length) return false;
      for (let j = 0; j < x.args.length; j++) if (x.args[j] !== y.args[j]) return false;
    }
  }
  return true;
}

/** The first `n` choice bytes agree, a missing byte (read as 0 by the source) differing from a present one. */
function sameChoicePrefix(a: Uint8Array, b: Uint8Array, n: number): boolean {
  const la = Math.min(a.length, n);
  const lb = Math.min(b.length, n);
  if (la !== lb) return false;
  for (let i = 0; i < la; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The schedule records at steps up to `last` agree (records are in step order; a later one is never read). */
function sameRecordsUpTo(a: Uint8Array, b: Uint8Array, last: number): boolean {
  if (a.length === b.length && a.every((x, i) => x === b[i])) return true;
  const ra = decodePreemptions(a);
  const rb = decodePreemptions(b);
  let i = 0;
  for (; i < ra.length && ra[i]!.step <= last; i++) {
    const y = rb[i];
    if (y === undefined || y.step !== ra[i]!.step || y.thread !== ra[i]!.thread) return false;
  }
  // b must not have a record of its own at or before `last` either.
  return i >= rb.length || rb[i]!.step > last;
}
