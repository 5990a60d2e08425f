/** Shared helpers of the model's scenario tests. */
import { Execution, type Outcome, signatureOf } from '../../src/runtime';
import type { DecisionSource } from '../../src/runtime/decision-source';
import type { Kvm, KvmParams } from '../../src/model/kvm';
import { configOf } from '../../src/model/switches';
import { type VmProgram, spawnVm } from '../../src/model/vm';
import { PctSource, RandomWalkSource, ScriptedSource, type ScriptStep } from '../../src/strategies';

export interface Scenario {
  off?: string[];
  variants?: string[];
  params?: Partial<KvmParams>;
  program: VmProgram;
  setup?: (kvm: Kvm) => void;
}

export interface Run {
  outcome: Outcome;
  kvm: Kvm;
  /** Signature of the failure, or 'clean'. */
  sig: string;
}

/** Runs a scenario under a decision source. */
export function runWith(s: Scenario, source: DecisionSource, trace = false, maxSteps = 20_000, fatalInvariants = true): Run {
  const ex = new Execution(source, { trace, maxSteps, fatalInvariants });
  if (source instanceof ScriptedSource) source.attach(() => ex.threads);
  const kvm = spawnVm(ex, configOf(s.off ?? [], s.variants ?? []), s.params ?? {}, s.program, s.setup);
  const outcome = ex.run();
  return { outcome, kvm, sig: outcome.failure === null ? 'clean' : signatureOf(outcome.failure) };
}

/** Runs a scenario under a script (strict: the script must fit the program exactly). */
export function runScript(s: Scenario, script: ScriptStep[], strict = true, trace = false, fatalInvariants = true, choices: Record<string, number> = {}): Run {
  return runWith(s, new ScriptedSource(script, strict, choices), trace, 20_000, fatalInvariants);
}

/** Signatures found by `n` random-walk and `n` PCT executions (seeded), with counts. */
export function explore(s: Scenario, n: number, seed = 1): Map<string, number> {
  const found = new Map<string, number>();
  const sources: DecisionSource[] = [new RandomWalkSource(seed), new PctSource(seed, 3, 400)];
  for (const src of sources) {
    for (let i = 0; i < n; i++) {
      const r = runWith(s, src);
      found.set(r.sig, (found.get(r.sig) ?? 0) + 1);
    }
  }
  return found;
}

/** The signatures of `found` other than clean. */
export function crashes(found: Map<string, number>): string[] {
  return [...found.keys()].filter((k) => k !== 'clean').sort();
}
