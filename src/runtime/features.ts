/**
 * Feature collection for the fuzz engine: a fixed-size map of hit counters
 * indexed by 32-bit feature hashes. Code features (which labelled step ran)
 * and interleaving features (context switches between label pairs, lock
 * contention, cross-thread conflicting accesses) share one map; each kind is
 * salted so that they do not alias systematically.
 *
 * Hashes are pure functions of strings (FNV-1a), memoised: the same label has
 * the same feature index in every process.
 */

import { LastAccessTable } from './last-access';

export const FEATURE_MAP_BITS = 16;

export const enum FeatureSalt {
  Code = 0x1b873593,
  Switch = 0x2c1b3c6d,
  Contention = 0x297a2d39,
  Conflict = 0x68e31da4,
  Choice = 0x5bd1e995,
  Custom = 0x7feb352d,
  Atomicity = 0x3c6ef372,
}

export class FeatureMap {
  /** Hit counts by slot; read it freely, write it only through hit() and clear() (they keep the touched list). */
  readonly hits: Uint8Array;
  private readonly mask: number;
  /**
   * The slots hit since the last clear, in first-hit order: an execution
   * touches a few thousand of the 64K slots, so clearing and scanning only
   * these is what keeps feedback cheap.
   */
  private readonly touchedSlots: Uint32Array;
  private touchedCount = 0;
  /**
   * Slots that a context-switch feature has hit, in any execution so far
   * (a slot another kind also hits is marked too: collisions are rare).
   * The engine can leave them out of an entry's rarity score. Switches in a
   * set-up prelude, whose features a restored execution adds by slot
   * (hitSlot), are not marked; every execution of that set-up hits them, so
   * their rarity is negligible either way.
   */
  readonly switchSlots: Uint8Array;
  /**
   * The last access to each (object, field) in the execution being
   * collected (conflict features); every Execution empties it when it starts,
   * since object ids restart per execution.
   */
  readonly lastAccess = new LastAccessTable();
  /**
   * Each thread's last access to each (object, field), keyed by (object id
   * and thread id, field): the atomicity features (Execution.atomicityFeature).
   * Emptied by every Execution when it starts; a set-up snapshot does not
   * carry it (the preludes' accesses are not first accesses there).
   */
  readonly ownAccess = new LastAccessTable();

  constructor(readonly bits: number = FEATURE_MAP_BITS) {
    this.hits = new Uint8Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.touchedSlots = new Uint32Array(1 << bits);
    this.switchSlots = new Uint8Array(1 << bits);
  }

  /** hit() for a context-switch feature: also marks its slot in switchSlots. */
  hitSwitch(h: number): void {
    this.switchSlots[h & this.mask] = 1;
    this.hit(h);
  }

  /** Count one hit of feature `h` (saturating at 255). */
  hit(h: number): void {
    const i = h & this.mask;
    const v = this.hits[i]!;
    if (v === 0) this.touchedSlots[this.touchedCount++] = i;
    if (v < 255) this.hits[i] = v + 1;
  }

  /** Count `n` hits of slot `i` at once: what n calls of hit() on a feature of that slot do. */
  hitSlot(i: number, n: number): void {
    const v = this.hits[i]!;
    if (v === 0 && n > 0) this.touchedSlots[this.touchedCount++] = i;
    this.hits[i] = Math.min(255, v + n);
  }

  clear(): void {
    const t = this.touchedSlots;
    for (let k = 0; k < this.touchedCount; k++) this.hits[t[k]!] = 0;
    this.touchedCount = 0;
  }

  /** Number of distinct feature slots hit. */
  count(): number {
    return this.touchedCount;
  }

  /** The slots hit since the last clear, in first-hit order (a view, valid until the next hit or clear). */
  touched(): Uint32Array {
    return this.touchedSlots.subarray(0, this.touchedCount);
  }
}

/**
 * hashString's memo: a null-prototype dictionary, not a Map — a keyed load
 * on it measured half the cost of Map.get for the model's labels (8 vs 16
 * ns), and labels are hashed on every step.
 */
const memo: Record<string, number> = Object.create(null) as Record<string, number>;
let memoSize = 0;

/** FNV-1a over the UTF-16 code units of `s`, memoised. */
export function hashString(s: string): number {
  const m = memo[s];
  if (m !== undefined) return m;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h >>>= 0;
  if (memoSize < 1 << 20) {
    memo[s] = h;
    memoSize++;
  }
  return h;
}

/** Combine two hashes (murmur3-style finaliser over a ^ rotl(b)). */
export function mixHash(a: number, b: number): number {
  let h = (a ^ ((b << 13) | (b >>> 19)) ^ Math.imul(b, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
