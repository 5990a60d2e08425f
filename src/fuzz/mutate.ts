/**
 * Mutators: libFuzzer-like byte-level ones on the payload, and
 * structure-aware ones on the decoded scenario (insert, delete, swap or
 * duplicate an operation; change an argument; add, move or remove a
 * preemption; splice two inputs). All randomness comes from the engine's
 * seeded generator.
 */
import type seedrandom from 'seedrandom';
import { decodePreemptions, encodePreemptions, type Preemption } from '../strategies/fuzz-bytes';
import { decode, encode } from './codec';
import type { Harness } from './harness';
import type { Op, Scenario } from './scenario';
import type { DirectPlan } from './direct-plan';
import type { ScheduleArm } from './schedule-arms';

const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255];
export const MAX_INPUT = 512;
/**
 * Rates of random switches (out of 256 per decision), mostly spaced by powers
 * of two: each seed race has its best rate somewhere between 4 (a long
 * serial window: seed 001) and 64 or more (two short critical sections:
 * seeds 000, 003); see bench/README.md. Mutation's change-walk draws from
 * them uniformly (0 included: back to serial); new schedules draw the
 * non-zero ones through ScheduleArms, steered by failures.
 */
export const WALK_RATES = [0, 0, 4, 8, 16, 32, 64, 128, 192, 255];
/** The non-zero rates: the random-switch arms of new schedules (ScheduleArms). */
export const RANDOM_RATES: readonly number[] = WALK_RATES.filter((r) => r > 0);
/** The depth of the PCT kind of new schedules (d-1 change points), as the `pct` baseline's. */
export const PCT_DEPTH = 3;

/**
 * The steps at which an input's threads really compete: from the first to
 * the last real scheduling decision of a run (forced steps, such as a
 * harness's serial set-up, lie outside). Preemptions placed outside it do
 * nothing, so generators and mutators place them inside.
 */
export interface DecisionSpan {
  readonly lo: number;
  readonly hi: number;
}

export class Mutator {
  constructor(private readonly h: Harness, private readonly rng: seedrandom.PRNG) {}

  private int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  /**
   * A fresh input: random bytes for the configuration, programs and model
   * choices, and a schedule of one of two shapes, both placed inside the
   * decision span `span` that recent executions showed:
   *  - `preemptions`: serial with 1–3 preemptions at uniform steps of the
   *    span to random threads (PCT's insight: few, well-spread preemptions
   *    catch most bugs; unlike PCT none is wasted on forced steps);
   *  - `random-switches`: the arm's random-switch rate, a seed, and at most
   *    one preemption (a random walk where the rate sets how chaotic it is).
   * The caller picks the arm (ScheduleArms).
   * The programs alone (bytes decoded without the schedule) are what the
   * no-feedback baselines run, so a comparison measures scheduling only.
   */
  generate(span: DecisionSpan, arm: ScheduleArm): Uint8Array {
    const raw = this.randomBytes(6 + this.int(64));
    // Model choices (cond_resched yields and the like) answered at random, as the baselines answer them.
    const out: Scenario = { ...decode(this.h, raw), choices: this.randomChoices(), ...this.freshSchedule(span, arm) };
    return encode(this.h, out);
  }

  private randomBytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** Answers for the model choices of one execution (executions make at most a few). */
  private randomChoices(): Uint8Array {
    return this.randomBytes(16 + this.int(48));
  }

  /** A preemption target: a thread slot or the RCU actor (decoding takes it modulo the threads spawned). */
  private randomThread(): number {
    return this.int(this.h.slots.length + 1);
  }

  /** A schedule of the given shape inside `span` (see generate). */
  private freshSchedule(span: DecisionSpan, arm: ScheduleArm): Pick<Scenario, 'walkSeed' | 'walkRate' | 'pct' | 'schedule'> {
    if (arm.shape === 'pct') {
      // PCT with depth 3: a random priority order (from the seed) and two change points among the span's steps.
      const points: Preemption[] = [];
      for (let i = 0; i < PCT_DEPTH - 1; i++) points.push({ step: this.inSpan(span), thread: 0 });
      return { walkSeed: Math.floor(this.rng() * 2 ** 32), walkRate: 0, pct: true, schedule: encodePreemptions(points) };
    }
    const pre: Preemption[] = [];
    const count = arm.shape === 'preemptions' ? 1 + this.int(3) : this.int(2);
    for (let i = 0; i < count; i++) pre.push({ step: this.inSpan(span), thread: this.randomThread() });
    // Half the time the first decision goes to a random thread (a random initial order, as PCT's priorities give).
    if (this.rng() < 0.5) pre.push({ step: span.lo, thread: this.randomThread() });
    pre.sort((a, b) => a.step - b.step);
    const walkRate = arm.shape === 'preemptions' ? 0 : arm.rate;
    return { walkSeed: Math.floor(this.rng() * 2 ** 32), walkRate, pct: false, schedule: encodePreemptions(pre) };
  }

  /** A uniform step of the span (slightly past its end, where longer variants of the program decide). */
  private inSpan(span: DecisionSpan): number {
    const width = Math.max(1, span.hi - span.lo + 1);
    return span.lo + this.int(width + (width >> 2));
  }

  /**
   * The same programs under a whole new schedule from `arm` (the caller
   * picks it, as for generate) with fresh model choices. A corpus entry's
   * programs are what feedback selected; a fresh schedule tries them under
   * another interleaving. Local schedule changes (a preemption added or
   * moved, a new random-switch seed) are mutate's; as reschedules they found
   * first crashes less often than whole new schedules (bench/README.md).
   */
  reschedule(base: Uint8Array, span: DecisionSpan, arm: ScheduleArm): { bytes: Uint8Array; how: string } {
    const s = decode(this.h, base);
    return { bytes: encode(this.h, { ...s, choices: this.randomChoices(), ...this.freshSchedule(span, arm) }), how: `new-schedule(${arm.shape})` };
  }

  /**
   * A conflict-directed schedule for a corpus entry's programs: its run
   * replayed up to one of its conflicts (A's access at step sa, then B's;
   * see DirectPlan), and there a switch to B just before A's access, so
   * that B's side goes first. B then runs on as long as it can (no random
   * switches), and half the time a switch back to A follows after 1–64
   * steps. Configuration, programs and choices are kept. Two other switches
   * were measured and dropped: to B just after A's access, and to A just
   * before B's (bench/README.md).
   */
  direct(base: Uint8Array, plan: DirectPlan): { bytes: Uint8Array; how: string } {
    const s = decode(this.h, base);
    const c = plan.conflicts;
    const k = 4 * this.int(Math.max(1, c.length >> 2));
    // A plan has at least one conflict (directPlanOf).
    const cut = c[k]!;
    const a = c[k + 1]!;
    const b = c[k + 3]!;
    const pre: Preemption[] = [];
    const p = plan.prefix;
    for (let i = 0; i + 1 < p.length && p[i]! < cut; i += 2) pre.push({ step: p[i]!, thread: p[i + 1]! });
    pre.push({ step: cut, thread: b });
    const back = this.rng() < 0.5 ? cut + 1 + this.int(64) : -1;
    if (back >= 0) pre.push({ step: back, thread: a });
    const how = `direct(thread ${b} before thread ${a}'s access at step ${cut}${back >= 0 ? `, back at step ${back}` : ''})`;
    return { bytes: encode(this.h, { ...s, walkSeed: 0, walkRate: 0, pct: false, schedule: encodePreemptions(pre) }), how };
  }

  /**
   * The same input with one random operation appended to the end of a
   * program: of one random slot (`one`) or of every slot (`each`), skipping
   * programs already at their slot's maxOps. Configuration, schedule, random
   * switches and choices are kept, so the run up to the new operations
   * replays as before (until its decisions diverge). For a run that ended
   * in a corrupt state (an end-of-run invariant): what does the corruption
   * lead to when the threads go on? Null when no program has room.
   */
  extend(base: Uint8Array, where: 'one' | 'each'): { bytes: Uint8Array; how: string } | null {
    const s = decode(this.h, base);
    const room: number[] = [];
    for (let i = 0; i < this.h.slots.length; i++) {
      const spec = this.h.slots[i]!;
      if (spec.ops.length > 0 && s.programs[i]!.length < spec.maxOps) room.push(i);
    }
    if (room.length === 0) return null;
    const programs = s.programs.map((p) => [...p]);
    const slots = where === 'each' ? room : [room[this.int(room.length)]!];
    for (const i of slots) programs[i]!.push(this.randomOp(i));
    return { bytes: encode(this.h, { ...s, programs }), how: `extend(${where === 'each' ? 'every program' : this.h.slots[slots[0]!]!.name})` };
  }

  /** One mutated payload derived from `base` (and, for splices, `other`); preemptions go inside `span`, the parent's decision span. */
  mutate(base: Uint8Array, other: Uint8Array | null, span: DecisionSpan = { lo: 0, hi: 600 }): { bytes: Uint8Array; how: string } {
    const rounds = 1 + this.int(3);
    let cur = base;
    const how: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const structured = this.rng() < 0.7;
      const r = structured ? this.structured(cur, other, span) : this.bytes(cur);
      cur = r.bytes;
      how.push(r.how);
    }
    if (cur.length > MAX_INPUT) cur = cur.slice(0, MAX_INPUT);
    return { bytes: cur, how: how.join('+') };
  }

  /** Byte-level mutations of the payload. */
  bytes(b: Uint8Array): { bytes: Uint8Array; how: string } {
    const a = Array.from(b);
    switch (this.int(6)) {
      case 0: {
        if (a.length === 0) a.push(this.int(256));
        else a[this.int(a.length)]! ^= 1 << this.int(8);
        return { bytes: Uint8Array.from(a), how: 'bitflip' };
      }
      case 1: {
        const v = INTERESTING[this.int(INTERESTING.length)]!;
        if (a.length === 0) a.push(v);
        else a[this.int(a.length)] = v;
        return { bytes: Uint8Array.from(a), how: 'interesting' };
      }
      case 2:
        a.splice(this.int(a.length + 1), 0, this.int(256));
        return { bytes: Uint8Array.from(a), how: 'insert-byte' };
      case 3:
        if (a.length > 0) a.splice(this.int(a.length), 1 + this.int(Math.min(4, a.length)));
        return { bytes: Uint8Array.from(a), how: 'erase-bytes' };
      case 4: {
        if (a.length > 1) {
          const from = this.int(a.length);
          const len = 1 + this.int(Math.min(8, a.length - from));
          a.splice(this.int(a.length + 1), 0, ...a.slice(from, from + len));
        }
        return { bytes: Uint8Array.from(a), how: 'copy-part' };
      }
      default: {
        if (a.length === 0) a.push(0);
        const i = this.int(a.length);
        a[i] = (a[i]! + (this.rng() < 0.5 ? 1 : 255)) & 0xff;
        return { bytes: Uint8Array.from(a), how: 'add-sub' };
      }
    }
  }

  /** Structure-aware mutations on the decoded scenario. */
  structured(b: Uint8Array, other: Uint8Array | null, span: DecisionSpan = { lo: 0, hi: 600 }): { bytes: Uint8Array; how: string } {
    const s = decode(this.h, b);
    const programs = s.programs.map((p) => p.map((op) => ({ kind: op.kind, args: [...op.args] })));
    let schedule = decodePreemptions(s.schedule);
    let choices = Array.from(s.choices);
    let config = s.config;
    let walkSeed = s.walkSeed;
    let walkRate = s.walkRate;
    let pct = s.pct;
    let how: string;
    const slot = this.int(this.h.slots.length);
    const spec = this.h.slots[slot]!;
    const prog = programs[slot]!;
    switch (this.int(11)) {
      case 10: { // the random switches between preemptions (or the PCT priorities): a new seed, another rate, or the other kind
        const u = this.rng();
        if (u < 0.6) walkSeed = Math.floor(this.rng() * 2 ** 32);
        else if (u < 0.9) walkRate = WALK_RATES[this.int(WALK_RATES.length)]!;
        else pct = !pct;
        how = 'change-walk';
        break;
      }
      case 0: // insert an op
        if (prog.length < spec.maxOps && spec.ops.length > 0) prog.splice(this.int(prog.length + 1), 0, this.randomOp(slot));
        how = 'insert-op';
        break;
      case 1: // delete an op
        if (prog.length > 0) prog.splice(this.int(prog.length), 1);
        how = 'delete-op';
        break;
      case 2: // swap two ops
        if (prog.length > 1) {
          const i = this.int(prog.length);
          const j = this.int(prog.length);
          [prog[i], prog[j]] = [prog[j]!, prog[i]!];
        }
        how = 'swap-ops';
        break;
      case 3: // duplicate an op
        if (prog.length > 0 && prog.length < spec.maxOps) {
          const i = this.int(prog.length);
          prog.splice(i, 0, { kind: prog[i]!.kind, args: [...prog[i]!.args] });
        }
        how = 'duplicate-op';
        break;
      case 4: { // change an argument (or the kind)
        if (prog.length > 0) {
          const op = prog[this.int(prog.length)]!;
          const ospec = spec.ops[op.kind]!;
          if (ospec.args.length === 0 || this.rng() < 0.2) op.kind = this.int(spec.ops.length);
          else {
            const k = this.int(ospec.args.length);
            op.args[k] = this.int(ospec.args[k]!.range);
          }
        }
        how = 'change-arg';
        break;
      }
      case 5: // add a preemption
        schedule.push({ step: this.preemptionStep(schedule, span), thread: this.randomThread() });
        how = 'add-preemption';
        break;
      case 6: // move a preemption
        if (schedule.length > 0) {
          const i = this.int(schedule.length);
          const p = schedule[i]!;
          const d = 1 + this.int(this.rng() < 0.7 ? 4 : 64);
          schedule[i] = { step: Math.max(0, p.step + (this.rng() < 0.5 ? -d : d)), thread: this.rng() < 0.3 ? this.randomThread() : p.thread };
        }
        how = 'move-preemption';
        break;
      case 7: // remove a preemption
        if (schedule.length > 0) schedule.splice(this.int(schedule.length), 1);
        how = 'remove-preemption';
        break;
      case 8: // a model choice (e.g. yield at a cond_resched point)
        if (choices.length === 0 || this.rng() < 0.5) choices.splice(this.int(choices.length + 1), 0, this.int(4));
        else choices[this.int(choices.length)] = this.int(4);
        how = 'change-choice';
        break;
      default: { // splice with another input: programs from one, schedule from the other, or halves
        if (other !== null) {
          const o = decode(this.h, other);
          if (this.rng() < 0.5) schedule = decodePreemptions(o.schedule);
          else {
            const k = this.int(programs.length);
            programs[k] = o.programs[k]!.map((op) => ({ kind: op.kind, args: [...op.args] }));
          }
          if (this.rng() < 0.3) choices = Array.from(o.choices);
          if (this.rng() < 0.2) config = o.config;
        } else {
          config = this.int(Math.max(1, this.h.configRange));
        }
        how = 'splice';
      }
    }
    schedule.sort((a, b2) => a.step - b2.step);
    const out: Scenario = { config, walkSeed, walkRate, pct, programs: programs as Op[][], schedule: encodePreemptions(schedule), choices: Uint8Array.from(choices) };
    return { bytes: encode(this.h, out), how };
  }

  private randomOp(slot: number): { kind: number; args: number[] } {
    const spec = this.h.slots[slot]!;
    const kind = this.int(spec.ops.length);
    return { kind, args: spec.ops[kind]!.args.map((a) => this.int(a.range)) };
  }

  /** Preemption positions cluster near existing ones (locality) or fall anywhere in the decision span. */
  private preemptionStep(existing: readonly Preemption[], span: DecisionSpan): number {
    if (existing.length > 0 && this.rng() < 0.5) {
      const p = existing[this.int(existing.length)]!;
      return Math.max(0, p.step + this.int(40) - 10);
    }
    return this.inSpan(span);
  }
}
