import type { ExecutionOptions, Outcome } from '../runtime';
import type { DecisionSource } from '../runtime/decision-source';
import type { Op, Scenario } from './scenario';

/** One argument of an operation: a byte taken modulo `range`. */
export interface ArgSpec {
  readonly name: string;
  readonly range: number;
}

/** An operation a thread slot offers. */
export interface OpSpec {
  readonly name: string;
  readonly args: readonly ArgSpec[];
}

/** A thread of the harness and the operations its program is made of. */
export interface ThreadSlot {
  readonly name: string;
  readonly ops: readonly OpSpec[];
  readonly maxOps: number;
}

/** Switch and variant names the harness's model accepts, with their validation. */
export interface HarnessConfig {
  readonly off: readonly string[];
  readonly variants: readonly string[];
}

/**
 * What the engine needs from a harness (DESIGN.md §2: declared here, in the
 * layer that calls it; harnesses implement it). The engine never imports
 * the model: it sees threads and operations as names and bytes.
 */
export interface Harness {
  readonly name: string;
  readonly description: string;
  readonly slots: readonly ThreadSlot[];
  /** The config byte is taken modulo this. */
  readonly configRange: number;
  /** Step bound per execution. */
  readonly maxSteps: number;
  /**
   * Checks switch and variant names (throws an Error with one line on an
   * unknown name) and returns the configuration to run with.
   */
  configure(off: readonly string[], variants: readonly string[]): HarnessConfig;
  /** Runs one scenario under `source` (deterministic). */
  execute(s: Scenario, cfg: HarnessConfig, source: DecisionSource, opts: Partial<ExecutionOptions>): Outcome;
  /** A readable form of one operation, e.g. `ept-write(table G1, idx 7)`. */
  describeOp(slot: number, op: Op): string;
  /** A readable form of the config byte. */
  describeConfig(config: number): string;
}

/** A scenario's programs as readable lines, by thread slot name (for sidecars and reports). */
export function describeProgram(h: Harness, s: Scenario): Record<string, string[]> {
  const program: Record<string, string[]> = {};
  h.slots.forEach((slot, i) => {
    program[slot.name] = (s.programs[i] ?? []).map((op) => h.describeOp(i, op));
  });
  return program;
}
