import type { DecisionSource, ExecutionInfo } from '../runtime/decision-source';
import { PriorityOrder } from './priority-order';

/**
 * Between explicit preemptions, the default schedule may also switch threads
 * at random: at each real choice, with probability `rate / 256`, to a random
 * other runnable thread, drawn from a small generator seeded with `seed`.
 * rate 0 (the default) is the purely serial default. Both come from the
 * input's bytes, so the schedule stays a pure function of them.
 */
export interface RandomSwitches {
  readonly seed: number;
  readonly rate: number;
  /** PCT priorities instead of a serial default with random switches (see FuzzBytesSource); `rate` is then not used. */
  readonly pct?: boolean;
}

/** One preemption: from global step `step` on, run thread `thread`. */
export interface Preemption {
  readonly step: number;
  readonly thread: number;
}

const EMPTY = new Uint8Array(0);
const MAX_VARINT_BYTES = 4;
const MAX_DELTA = 2 ** (7 * MAX_VARINT_BYTES) - 1;

/**
 * Decisions read from fuzz bytes. The schedule bytes are a list of
 * preemptions, each a LEB128 varint (steps since the previous preemption, or
 * since the start) followed by one byte naming the thread to switch to
 * (modulo the thread count). Between preemptions the schedule is
 * non-preemptive: the thread that ran last keeps running while it can; when
 * it blocks or finishes, the next runnable thread in id order (cyclically)
 * takes over. If the named thread is not runnable at its step, the next
 * runnable one after it is taken. A thread at a spin or retry point
 * (`yielding`) hands over to the next runnable thread. Choice bytes answer model choices
 * (`byte % n`). Missing bytes read as defaults — no more preemptions, choice
 * 0 — so every byte string is a valid decision source and the empty one is
 * the serial schedule.
 *
 * With `pct` set the schedule is PCT's (Burckhardt et al., ASPLOS 2010, as
 * PctSource runs it) with everything drawn from the input: the threads'
 * initial priorities are a random order drawn from the seed, the
 * highest-priority runnable thread runs, and each schedule record is a
 * change point: at the first decision at or after its step the running
 * thread drops below every priority so far (the record's thread byte is not
 * used). A thread at a spin or retry point drops the same way, as in
 * PctSource and Shuttle; threads spawned during the run get fresh
 * priorities above the initial ones. A PCT run with d-1 records is one of
 * PCT's depth-d schedules, kept and mutated like any other input (the random
 * and PCT baselines run PctSource with fresh programs and no feedback).
 */
export class FuzzBytesSource implements DecisionSource {
  readonly name = 'bytes';
  private pos = 0;
  private cpos = 0;
  private threads = 1;
  private nextAt = Infinity;
  private target = 0;

  private state = 0;
  /** PCT mode's priorities; null otherwise (a source is made per execution, so most never need one). */
  private readonly order: PriorityOrder | null;

  constructor(
    private readonly schedule: Uint8Array = EMPTY,
    private readonly choices: Uint8Array = EMPTY,
    private readonly walk: RandomSwitches = { seed: 0, rate: 0 },
  ) {
    this.order = walk.pct === true ? new PriorityOrder() : null;
  }

  beginExecution(info: ExecutionInfo): void {
    this.pos = 0;
    this.cpos = 0;
    this.state = (this.walk.seed ^ 0x9e3779b9) >>> 0 || 1;
    this.threads = Math.max(1, info.threads);
    if (this.order !== null) this.shufflePriorities(this.order);
    this.readRecord(0);
  }

  /** PCT mode: priorities 1..n in a random order (Fisher-Yates on the seeded generator). */
  private shufflePriorities(order: PriorityOrder): void {
    const n = this.threads;
    const p: number[] = [];
    for (let i = 0; i < n; i++) p.push(i + 1);
    for (let i = n - 1; i > 0; i--) {
      const j = this.next() % (i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    order.reset(p);
  }

  nextThread(runnable: readonly number[], count: number, current: number, step: number, yielding = false): number {
    if (this.order !== null) return this.nextByPriority(this.order, runnable, count, current, step, yielding);
    let want = -1;
    while (step >= this.nextAt) {
      want = this.target % this.threads;
      this.readRecord(this.nextAt);
    }
    if (want >= 0) return firstAtOrAfter(runnable, count, want);
    if (this.walk.rate > 0 && (this.next() & 0xff) < this.walk.rate) {
      // A random switch to another runnable thread.
      const others = count - (isIn(runnable, count, current) ? 1 : 0);
      let k = this.next() % Math.max(1, others);
      for (let i = 0; i < count; i++) {
        if (runnable[i] === current) continue;
        if (k-- === 0) return runnable[i]!;
      }
    }
    if (!yielding && isIn(runnable, count, current)) return current;
    return firstAtOrAfter(runnable, count, current + 1);
  }

  /** PCT mode (see the class comment): change points and spinners drop the running thread; the highest priority runs. */
  private nextByPriority(order: PriorityOrder, runnable: readonly number[], count: number, current: number, step: number, yielding: boolean): number {
    while (step >= this.nextAt) {
      if (current >= 0) order.drop(current);
      this.readRecord(this.nextAt);
    }
    if (yielding && current >= 0) order.drop(current);
    return order.highest(runnable, count);
  }

  /** xorshift32: the random switches' generator (seeded per execution). */
  private next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  nextChoice(n: number): number {
    if (this.cpos >= this.choices.length) return 0;
    return this.choices[this.cpos++]! % n;
  }

  private readRecord(base: number): void {
    const s = this.schedule;
    let delta = 0;
    let shift = 0;
    for (let i = 0; ; i++) {
      if (this.pos >= s.length) {
        this.nextAt = Infinity;
        return;
      }
      const b = s[this.pos++]!;
      delta += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0 || i === MAX_VARINT_BYTES - 1) break;
    }
    if (this.pos >= s.length) {
      this.nextAt = Infinity;
      return;
    }
    this.target = s[this.pos++]!;
    this.nextAt = base + delta;
  }
}

function isIn(runnable: readonly number[], count: number, id: number): boolean {
  for (let i = 0; i < count; i++) if (runnable[i] === id) return true;
  return false;
}

/** The first runnable id >= `from`, wrapping around to the smallest. */
function firstAtOrAfter(runnable: readonly number[], count: number, from: number): number {
  for (let i = 0; i < count; i++) if (runnable[i]! >= from) return runnable[i]!;
  return runnable[0]!;
}

/**
 * Encodes preemptions into schedule bytes for FuzzBytesSource. They are
 * sorted by step; preemptions at the same step keep their order (the last
 * one wins when applied), so decode∘encode preserves behaviour.
 */
export function encodePreemptions(list: readonly Preemption[]): Uint8Array {
  const sorted = [...list].sort((a, b) => a.step - b.step);
  const out: number[] = [];
  let base = 0;
  for (const p of sorted) {
    // Steps beyond any execution's bound never apply; clamp them so the delta fits its varint.
    let d = Math.min(Math.max(0, p.step - base), MAX_DELTA);
    base += d;
    do {
      const b = d & 0x7f;
      d = Math.floor(d / 128);
      out.push(d > 0 ? b | 0x80 : b);
    } while (d > 0);
    out.push(p.thread & 0xff);
  }
  return Uint8Array.from(out);
}

/** Decodes schedule bytes into the preemptions FuzzBytesSource would apply. */
export function decodePreemptions(bytes: Uint8Array): Preemption[] {
  const out: Preemption[] = [];
  let pos = 0;
  let base = 0;
  while (pos < bytes.length) {
    let delta = 0;
    let shift = 0;
    let complete = false;
    for (let i = 0; pos < bytes.length; i++) {
      const b = bytes[pos++]!;
      delta += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0 || i === MAX_VARINT_BYTES - 1) {
        complete = true;
        break;
      }
    }
    if (!complete || pos >= bytes.length) break;
    base += delta;
    out.push({ step: base, thread: bytes[pos++]! });
  }
  return out;
}
