/**
 * What a conflict-directed schedule (Mutator.direct) needs of a corpus
 * entry's run, kept with the entry: the run's conflicts, and the thread
 * picks that replay its schedule up to any step.
 *
 * A conflict is two accesses to one field by two threads, one a write
 * (Execution's conflict log): thread A at step sa, then thread B at step sb.
 * The races this tool is for live between such pairs — an `unsync_children`
 * update lost between two vCPUs' read-modify-writes, a memslot published
 * between a check and an allocation — and a random walk reaches the other
 * order of a pair, or a step of B between A's access and A's next, only by
 * luck. A directed schedule replays the run up to the pair and switches
 * there: measured on seed 004's race, the children of random-walk runs
 * first-hit it 2x as often per execution as random walks themselves
 * (bench/README.md).
 */
import type { Outcome } from '../runtime/execution';

export interface DirectPlan {
  /**
   * The picks to replay the run's schedule with a source that keeps the
   * running thread by default (FuzzBytesSource without random switches):
   * pairs (step, thread), only where the run's pick was not the thread that
   * ran the step before, or that step yielded.
   */
  readonly prefix: Int32Array;
  /** Conflicts as (sa, A, sb, B) quadruples, only those that end where the threads compete (from the first decision on). */
  readonly conflicts: Int32Array;
}

/**
 * A run's plan, built the first time it is asked for: a corpus entry keeps
 * one of these and most entries are never the parent of a conflict-directed
 * schedule, while building every new entry's plan was 1-2% of an execution
 * while the corpus grows fastest (bench/README.md, session 15). Until then
 * it holds the run's own arrays by reference (no copy).
 */
export class LazyDirectPlan {
  private built: DirectPlan | null = null;
  /** The run's arrays the plan is made from, dropped once it is made. */
  private run: PlanInput | null;

  constructor(o: PlanInput) {
    this.run = { decisionSteps: o.decisionSteps, conflicts: o.conflicts, decisions: o.decisions, decisionFrom: o.decisionFrom };
  }

  /** The plan (made once). */
  get(): DirectPlan {
    if (this.built === null) {
      this.built = buildPlan(this.run!);
      this.run = null;
    }
    return this.built;
  }
}

/** What a plan is made of: a run's picks, their steps and predecessors, and its conflicts. */
type PlanInput = Pick<Outcome, 'decisionSteps' | 'conflicts' | 'decisions' | 'decisionFrom'>;

/** A run's lazy plan; null when it logged no conflict among competing threads (it has no plan). */
export function lazyPlanOf(o: Outcome): LazyDirectPlan | null {
  const steps = o.decisionSteps;
  if (steps.length === 0) return null;
  const first = steps[0]!;
  for (let i = 0; i + 3 < o.conflicts.length; i += 4) if (o.conflicts[i + 2]! >= first) return new LazyDirectPlan(o);
  return null;
}

/** The plan of a run that has one (lazyPlanOf is not null). */
function buildPlan(o: PlanInput): DirectPlan {
  const steps = o.decisionSteps;
  const first = steps[0]!;
  const c: number[] = [];
  for (let i = 0; i + 3 < o.conflicts.length; i += 4) {
    if (o.conflicts[i + 2]! >= first) c.push(o.conflicts[i]!, o.conflicts[i + 1]!, o.conflicts[i + 2]!, o.conflicts[i + 3]!);
  }
  const picks = o.decisions.schedule;
  const from = o.decisionFrom;
  const p: number[] = [];
  for (let i = 0; i < picks.length; i++) {
    // decisionFrom has an entry per pick whenever the run logged conflicts.
    const f = from[i]!;
    if (f < 0 || f >= 0x100 || f !== picks[i]) p.push(steps[i]!, picks[i]!);
  }
  return { prefix: Int32Array.from(p), conflicts: Int32Array.from(c) };
}

/** The plan of a run; null when it logged no conflict among competing threads. */
export function directPlanOf(o: Outcome): DirectPlan | null {
  return lazyPlanOf(o)?.get() ?? null;
}
