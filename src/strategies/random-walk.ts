import seedrandom from 'seedrandom';
import type { DecisionSource } from '../runtime/decision-source';

/**
 * Seeded random walk: every real choice is uniform over its options. Uses
 * seedrandom's xor4096 (a fast generator); successive executions continue
 * the same stream, so a run of N executions is reproducible from its seed.
 */
export class RandomWalkSource implements DecisionSource {
  readonly name = 'random';
  private readonly rng: seedrandom.PRNG;

  constructor(readonly seed: number | string) {
    this.rng = seedrandom.xor4096(String(seed));
  }

  beginExecution(): void {}

  nextThread(runnable: readonly number[], count: number): number {
    return runnable[Math.floor(this.rng() * count)]!;
  }

  nextChoice(n: number): number {
    return Math.floor(this.rng() * n);
  }
}
