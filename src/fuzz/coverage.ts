import type { FeatureMap } from '../runtime';

/** libFuzzer's hit-count buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+ → 1..8. */
export function bucketOf(hits: number): number {
  if (hits === 0) return 0;
  if (hits <= 3) return hits;
  if (hits <= 7) return 4;
  if (hits <= 15) return 5;
  if (hits <= 31) return 6;
  if (hits <= 127) return 7;
  return 8;
}

/** bucketOf for every 8-bit hit count. */
export const BUCKETS = new Uint8Array(256);
for (let i = 0; i < 256; i++) BUCKETS[i] = bucketOf(i);

/**
 * The union of everything seen: for each feature slot, the highest hit-count
 * bucket reached. An execution is interesting when it reaches a bucket not
 * seen before in some slot.
 */
export class GlobalCoverage {
  readonly max: Uint8Array;
  /** Slots ever hit. */
  slots = 0;
  /** Sum of the max buckets (libFuzzer's "ft"). */
  features = 0;

  constructor(size: number) {
    this.max = new Uint8Array(size);
  }

  /**
   * Count of (slot, bucket) pairs in `fm` that are new; merges them when
   * `commit`. `out`, when given, gets the slots that are new (emptied first).
   */
  novelty(fm: FeatureMap, commit: boolean, out: number[] | null = null): number {
    if (out !== null) out.length = 0;
    const hits = fm.hits;
    const max = this.max;
    const touched = fm.touched();
    let fresh = 0;
    for (let k = 0; k < touched.length; k++) {
      const i = touched[k]!;
      const h = hits[i]!;
      const b = BUCKETS[h]!;
      const m = max[i]!;
      if (b > m) {
        fresh++;
        if (out !== null) out.push(i);
        if (commit) {
          if (m === 0) this.slots++;
          this.features += b - m;
          max[i] = b;
        }
      }
    }
    return fresh;
  }

  /** The slots an execution hit, in first-hit order (for the corpus's rarity scoring): a copy, in `arena` when given. */
  static hitSlots(fm: FeatureMap, arena: SlotArena | null = null): Uint32Array {
    return arena === null ? fm.touched().slice() : arena.copy(fm.touched());
  }
}

/**
 * Where the corpus keeps its entries' slot lists and conflict-directed
 * plans: views into large shared chunks rather than a typed array, with a
 * backing store of its own, per entry. While the corpus grows fastest
 * nearly every execution adds an entry, and the copy with its own buffer
 * was 1-2% of an execution
 * (bench/README.md, session 15). A list replaced later (an entry reduced)
 * leaves its space unused; the chunk lives as long as any view of it.
 */
export class SlotArena {
  private chunk = new Uint32Array(0);
  private used = 0;

  constructor(private readonly chunkSize = 1 << 18) {}

  /** A copy of `src` in the arena. */
  copy(src: Uint32Array): Uint32Array {
    const v = this.alloc(src.length);
    v.set(src);
    return v;
  }

  /** `n` zeroed words of the arena, to fill (a conflict-directed plan: directPlanOf). */
  alloc(n: number): Uint32Array {
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint32Array(Math.max(this.chunkSize, n));
      this.used = 0;
    }
    const v = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    return v;
  }
}
