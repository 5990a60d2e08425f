import type { KObject } from './kobject';
import type { SimThread } from './thread';

/** The value the kernel saturates a misused refcount_t to (INT_MIN / 2). */
export const REFCOUNT_SATURATED = -0x40000000;

/**
 * `refcount_t` with the kernel's semantics (lib/refcount.c): every operation
 * is one atomic step of the calling thread (call it right after a labelled
 * yield). `inc_not_zero` fails at 0; `inc` from 0 WARNs "addition on 0;
 * use-after-free"; a decrement below 0 WARNs "underflow; use-after-free";
 * `dec` from 1 or less WARNs "decrement hit 0; leaking memory". Each WARN
 * saturates the counter, as the kernel does, and is a `REFCOUNT` failure at
 * the calling kernel function. The counter lives in `owner`: using it after
 * the owner was freed is a use-after-free.
 */
export class Refcount {
  constructor(readonly owner: KObject, readonly field: string, public value: number) {}

  /** `refcount_read`. */
  read(t: SimThread): number {
    this.check(t, 'refcount_read');
    t.ex.access(t, this.owner, this.field, false, this.value, '→');
    return this.value;
  }

  /** `refcount_set`. */
  set(t: SimThread, v: number): void {
    this.check(t, 'refcount_set');
    this.value = v;
    t.ex.access(t, this.owner, this.field, true, v, '←');
  }

  /** `refcount_inc_not_zero`: false (and no change) when the count is 0. */
  incNotZero(t: SimThread): boolean {
    this.check(t, 'refcount_inc_not_zero');
    const old = this.value;
    if (old === 0) {
      t.ex.access(t, this.owner, this.field, false, 0, '→');
      return false;
    }
    if (old < 0) {
      this.saturate(t, 'saturated; leaking memory', old);
      return true;
    }
    this.value = old + 1;
    t.ex.access(t, this.owner, this.field, true, this.value, '⇐');
    return true;
  }

  /** `refcount_inc`. */
  inc(t: SimThread): void {
    this.check(t, 'refcount_inc');
    const old = this.value;
    if (old === 0) {
      this.saturate(t, 'addition on 0; use-after-free', old);
      return;
    }
    if (old < 0) {
      this.saturate(t, 'saturated; leaking memory', old);
      return;
    }
    this.value = old + 1;
    t.ex.access(t, this.owner, this.field, true, this.value, '⇐');
  }

  /** `refcount_dec_and_test`: true when this call dropped the count to 0. */
  decAndTest(t: SimThread): boolean {
    this.check(t, 'refcount_dec_and_test');
    const old = this.value;
    if (old <= 0) {
      this.saturate(t, 'underflow; use-after-free', old);
      return false;
    }
    this.value = old - 1;
    t.ex.access(t, this.owner, this.field, true, this.value, '⇐');
    return this.value === 0;
  }

  /** `refcount_dec`: must not reach 0 (the kernel warns "decrement hit 0" for any old value <= 1). */
  dec(t: SimThread): void {
    this.check(t, 'refcount_dec');
    const old = this.value;
    if (old <= 1) {
      this.saturate(t, 'decrement hit 0; leaking memory', old);
      return;
    }
    this.value = old - 1;
    t.ex.access(t, this.owner, this.field, true, this.value, '⇐');
  }

  private check(t: SimThread, op: string): void {
    if (this.owner.freedBy !== null) t.ex.useAfterFree(t, this.owner, `${op} ${this.field}`);
  }

  private saturate(t: SimThread, detail: string, old: number): void {
    this.value = REFCOUNT_SATURATED;
    t.ex.access(t, this.owner, this.field, true, this.value, '⇐');
    t.ex.warn(t, t.fn, `refcount_t: ${detail}`,
      `${t.name} at ${t.label}: ${this.owner.name}.${this.field} was ${old}; saturated`, false, 'REFCOUNT');
  }
}
