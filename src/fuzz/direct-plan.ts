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
import type { SlotArena } from './coverage';

export interface DirectPlan {
  /**
   * The picks to replay the run's schedule with a source that keeps the
   * running thread by default (FuzzBytesSource without random switches):
   * pairs (step, thread), only where the run's pick was not the thread that
   * ran the step before, or that step yielded.
   */
  readonly prefix: Uint32Array;
  /** Conflicts as (sa, A, sb, B) quadruples, only those that end where the threads compete (from the first decision on). */
  readonly conflicts: Uint32Array;
}

/** What a plan is made of: a run's picks, their steps and predecessors, and its conflicts. */
type PlanInput = Pick<Outcome, 'decisionSteps' | 'conflicts' | 'decisions' | 'decisionFrom'>;

/** A pick the thread-keeping source would not make by itself: a switch, or the thread that ran before yielded (decisionFrom's 0x100 bit). */
function recorded(from: number, pick: number): boolean {
  return from < 0 || from >= 0x100 || from !== pick;
}

/**
 * The plan of a run; null when it logged no conflict among competing
 * threads. Built when the entry is kept, into `arena` when given: one
 * shared chunk holds the plans of many entries, so an entry keeps two small
 * views instead of its run's decision and conflict arrays. Session 18
 * measured those arrays (about 100 decisions, three numbers each, and the
 * conflict log: 4.4 KB an entry on apicv) as what made mmufuzz's young
 * collections 2.4x the baselines' while the corpus grows fastest
 * (bench/README.md); the lazy plan of session 15 kept them alive to save
 * the build, which now costs one pass over them.
 */
export function directPlanOf(o: PlanInput, arena: SlotArena | null = null): DirectPlan | null {
  const steps = o.decisionSteps;
  if (steps.length === 0) return null;
  const first = steps[0]!;
  const cs = o.conflicts;
  let nc = 0;
  for (let i = 0; i + 3 < cs.length; i += 4) if (cs[i + 2]! >= first) nc += 4;
  if (nc === 0) return null;
  const picks = o.decisions.schedule;
  // decisionFrom has an entry per pick whenever the run logged conflicts.
  const from = o.decisionFrom;
  let np = 0;
  for (let i = 0; i < picks.length; i++) if (recorded(from[i]!, picks[i]!)) np += 2;
  const buf = arena === null ? new Uint32Array(np + nc) : arena.alloc(np + nc);
  let k = 0;
  for (let i = 0; i < picks.length; i++) {
    if (recorded(from[i]!, picks[i]!)) {
      buf[k++] = steps[i]!;
      buf[k++] = picks[i]!;
    }
  }
  for (let i = 0; i + 3 < cs.length; i += 4) {
    if (cs[i + 2]! >= first) {
      buf[k++] = cs[i]!;
      buf[k++] = cs[i + 1]!;
      buf[k++] = cs[i + 2]!;
      buf[k++] = cs[i + 3]!;
    }
  }
  return { prefix: buf.subarray(0, np), conflicts: buf.subarray(np) };
}
