/**
 * The last access to each (object, field) of one execution, for the
 * conflict features (Execution.conflict): an open-addressed table in typed
 * arrays, reused across executions and emptied in O(1) by an epoch stamp.
 * It replaces a Map per accessed object, whose allocation was a large part
 * of the garbage an execution made.
 *
 * Lossy by design, like the feature map itself: a probe sequence longer
 * than MAX_PROBE overwrites its home slot, so an access may find no
 * predecessor (a missed conflict feature) but never a wrong one — keys are
 * compared in full.
 *
 * Each entry also keeps the step of its access, so that a conflict can be
 * placed in time (Execution's conflict log, for conflict-directed
 * schedules): `prevStep` is the step of the entry `exchange` last returned.
 */
const MAX_PROBE = 8;

/** The live entries of a table, slot by slot (set-up snapshots). */
export interface LastAccessCapture {
  readonly slots: Int32Array;
  readonly oids: Int32Array;
  readonly keys: Int32Array;
  readonly values: Uint32Array;
  readonly steps: Int32Array;
}

export class LastAccessTable {
  private readonly oids: Int32Array;
  private readonly keys: Int32Array;
  private readonly values: Uint32Array;
  private readonly steps: Int32Array;
  private readonly stamps: Uint32Array;
  private readonly mask: number;
  /** The step stored with the entry the last `exchange` returned (-1 when it returned none). */
  prevStep = -1;
  private epoch = 1;

  constructor(bits = 14) {
    const n = 1 << bits;
    this.oids = new Int32Array(n);
    this.keys = new Int32Array(n);
    this.values = new Uint32Array(n);
    this.steps = new Int32Array(n);
    this.stamps = new Uint32Array(n);
    this.mask = n - 1;
  }

  /** Forgets every entry. */
  clear(): void {
    this.epoch = (this.epoch + 1) >>> 0;
    if (this.epoch === 0) {
      // Wrapped after 2^32 executions: stale stamps could look current.
      this.stamps.fill(0);
      this.epoch = 1;
    }
  }

  /** The live entries, each with its slot. */
  capture(): LastAccessCapture {
    const slots: number[] = [];
    for (let i = 0; i < this.stamps.length; i++) if (this.stamps[i] === this.epoch) slots.push(i);
    return {
      slots: Int32Array.from(slots),
      oids: Int32Array.from(slots, (i) => this.oids[i]!),
      keys: Int32Array.from(slots, (i) => this.keys[i]!),
      values: Uint32Array.from(slots, (i) => this.values[i]!),
      steps: Int32Array.from(slots, (i) => this.steps[i]!),
    };
  }

  /** Forgets every entry and puts back a capture's, each in its own slot (the same probe sequences as where it was taken). */
  restore(c: LastAccessCapture): void {
    this.clear();
    for (let k = 0; k < c.slots.length; k++) {
      const i = c.slots[k]!;
      this.stamps[i] = this.epoch;
      this.oids[i] = c.oids[k]!;
      this.keys[i] = c.keys[k]!;
      this.values[i] = c.values[k]!;
      this.steps[i] = c.steps[k]!;
    }
  }

  /**
   * Stores `value` (and its `step`) as the last access to (`oid`, `key`) and
   * returns the previous value, or -1 when there was none (values are 32-bit
   * unsigned, so -1 is never a value); the previous step is left in
   * `prevStep`.
   */
  exchange(oid0: number, key0: number, value: number, step = 0): number {
    const oid = oid0 | 0;
    const key = key0 | 0;
    const home = (Math.imul(oid, 0x9e3779b1) ^ Math.imul(key, 0x85ebca6b) ^ (key >>> 15)) & this.mask;
    // The first free slot of the probe sequence, or its home when all MAX_PROBE are taken.
    let free = home;
    for (let p = 0, i = home; p < MAX_PROBE; p++, i = (i + 1) & this.mask) {
      if (this.stamps[i] !== this.epoch) {
        free = i;
        break;
      }
      if (this.oids[i] === oid && this.keys[i] === key) {
        const prev = this.values[i]!;
        this.prevStep = this.steps[i]!;
        this.values[i] = value;
        this.steps[i] = step;
        return prev;
      }
    }
    const i = free;
    this.stamps[i] = this.epoch;
    this.oids[i] = oid;
    this.keys[i] = key;
    this.values[i] = value >>> 0;
    this.steps[i] = step;
    this.prevStep = -1;
    return -1;
  }
}
