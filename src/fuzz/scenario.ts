import { FuzzBytesSource, decodePreemptions } from '../strategies/fuzz-bytes';
/**
 * The scenario a fuzz input decodes into (DESIGN.md §1): a configuration
 * byte, one program of operations per thread slot, and the scheduler's
 * decisions (preemption bytes and choice bytes for FuzzBytesSource).
 */

/** One operation: an index into its thread slot's operation list, and its argument bytes. */
export interface Op {
  readonly kind: number;
  readonly args: readonly number[];
}

export interface Scenario {
  /** Harness configuration byte (its meaning is the harness's). */
  readonly config: number;
  /** Random switches between explicit preemptions (strategies/fuzz-bytes.ts): generator seed and rate (0: serial). */
  readonly walkSeed: number;
  readonly walkRate: number;
  /**
   * The schedule kind: false, preemptions with the random switches above
   * between them; true, PCT priorities (a random priority order from
   * walkSeed, each preemption record a priority change point; walkRate is
   * not used). See strategies/fuzz-bytes.ts.
   */
  readonly pct: boolean;
  /** One program per thread slot of the harness (same order). */
  readonly programs: readonly (readonly Op[])[];
  /** Preemption records (see strategies/fuzz-bytes.ts). */
  readonly schedule: Uint8Array;
  /** Answers to model choices, one byte each. */
  readonly choices: Uint8Array;
}

/** Counts used for triage and minimization: operations and preemptions. */
export function scenarioSize(s: Scenario): { ops: number; preemptions: number } {
  let ops = 0;
  for (const p of s.programs) ops += p.length;
  return { ops, preemptions: decodePreemptions(s.schedule).length };
}

/** The decision source that replays a scenario exactly (its preemptions, choices and random switches). */
export function scenarioSource(s: Scenario): FuzzBytesSource {
  return new FuzzBytesSource(s.schedule, s.choices, { seed: s.walkSeed, rate: s.walkRate, pct: s.pct });
}
