/**
 * The fuzz loop: in-process, seeded, coverage-guided over code and
 * interleaving features. Each iteration picks a corpus entry (favouring
 * small, fast inputs with rare features), mutates it (byte-level and
 * structure-aware), runs it, keeps it when it reaches a new feature bucket,
 * and stores failures deduplicated by signature. The engine knows harnesses
 * only through the Harness interface; it never imports the model.
 */
import seedrandom from 'seedrandom';
import { FEATURE_MAP_BITS, FeatureMap, ModelError, type Outcome, signatureOf } from '../runtime';
import type { DecisionSource } from '../runtime/decision-source';
import { renderSwimlanes } from '../report/swimlane';
import { PctSource, RandomWalkSource, decodePreemptions, encodePreemptions, formatSchedule } from '../strategies';
import { decode, encode } from './codec';
import { CorpusStore } from './corpus-store';
import { type CrashSidecar, CrashStore } from './crash-store';
import { BUCKETS, GlobalCoverage, SlotArena } from './coverage';
import { type Harness, type HarnessConfig, describeProgram } from './harness';
import { type DecisionSpan, Mutator, RANDOM_RATES } from './mutate';
import { type DirectPlan, directPlanOf } from './direct-plan';
import { type Scenario, scenarioSource } from './scenario';
import { type DecisionUse, UNKNOWN_USE, decisionUse, runsAlike } from './same-run';
import { ScheduleArms } from './schedule-arms';
import { Entropic, type LocalIncidence } from './entropic';
import { WeightTree } from './weight-tree';

export type Strategy = 'bytes' | 'random' | 'pct';

/**
 * How corpus entries are weighted for picking: by the rarity of their
 * features (the default); by the entropic power schedule (entropic.ts: what
 * their children have hit of the rare set); or by both, rarity scaled by
 * the entry's entropic energy over a new entry's ('hybrid': a new entry
 * weighs what rarity gives it, and its weight then follows its children).
 */
export type PowerSchedule = 'rarity' | 'entropic' | 'hybrid';
export const POWER_SCHEDULES: readonly PowerSchedule[] = ['rarity', 'entropic', 'hybrid'];

/** Why a run stopped. */
export type Stop = 'time' | 'runs' | 'crash' | 'signal';

/**
 * How the next input is made, and how often: a generated input
 * (Mutator.generate), a mutation of a corpus entry, a new schedule for a
 * corpus entry's programs (Mutator.reschedule), or a conflict-directed
 * schedule for them (Mutator.direct, DirectPlan). New schedules (generated
 * or rescheduled) take their kind from ScheduleArms. The shares
 * were chosen by the seed races' first-hit rates (bench/README.md); a bandit
 * that moved them by recent new-feature yield did worse, because at these
 * depths a tenth of all inputs reach some new interleaving feature.
 * Conflict-directed schedules take DEFAULT_DIRECT_SHARE (`--direct SHARE`;
 * 0 turns them off): at 0.15, with cond_resched yielding mmu_lock, the
 * first-hit rates of seed 000 (0.289% → 0.437%) and 004 (0.971% → 1.171%)
 * rose and the time to seed 004's race fell below random walk's; seed 003
 * (1.32% → 0.96%) and the 001 finding (0.118% → 0.093%) lose some of their
 * rate, but not their lead in time (bench/README.md, session 7).
 */
export const INPUT_KINDS = ['generate', 'mutate', 'reschedule', 'direct'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];
/** The shares without conflict-directed schedules. */
const BASE_SHARES = { generate: 0.4, mutate: 0.1, reschedule: 0.5 } as const;
export const DEFAULT_DIRECT_SHARE = 0.15;

/** The shares with `direct` of all inputs conflict-directed, the others (BASE_SHARES) scaled to the rest (0 <= direct <= 1). */
export function sharesWithDirect(direct: number): Record<InputKind, number> {
  const d = Math.min(1, Math.max(0, direct));
  return { generate: BASE_SHARES.generate * (1 - d), mutate: BASE_SHARES.mutate * (1 - d), reschedule: BASE_SHARES.reschedule * (1 - d), direct: d };
}
/** Where an executed input came from: one of INPUT_KINDS, an extension (of a corrupt run, extendTries, or of a run kept for new features, extendNew), or the start (the corpus loaded, the empty input, the first generated inputs) and syncs. */
export type InputOrigin = InputKind | 'extend' | 'start';
export const INPUT_ORIGINS: readonly InputOrigin[] = [...INPUT_KINDS, 'extend', 'start'];
export const INPUT_SHARES: Readonly<Record<InputKind, number>> = sharesWithDirect(DEFAULT_DIRECT_SHARE);
/**
 * The prior weight of each kind of new schedule: the preemptions shape, the
 * rates of RANDOM_RATES (4, 8, 16, 32, 64, 128, 192, 255 of 256), then PCT
 * priorities (two change points, as the `pct` baseline runs them, but kept
 * and mutated as inputs).
 *
 * Chosen in session 13 from `npm run bench -- kinds` (bench/README.md): the
 * chance that one generated execution of each kind hits each target, on
 * the six seed races and seed 000's and 002's races on `mmu`. The races
 * want different kinds — seed 003's claim variant preemptions, seed 002
 * rate 32, seed 004 PCT priorities, seed 000 and its `mmu` race 128, the
 * 001 finding preemptions or 16, 000's Case 2 255, `mmu`'s stale-mmio 64 —
 * and no kind is good on all; 16 comes closest. The prior maximises the
 * mean over the targets of the log of their hit rates (a log-optimal
 * portfolio: no target is given up for another), with every kind keeping
 * at least 3% (`logOptimalPrior`, bench/kind-rates.ts, which `kinds`
 * prints): 64% at rate 16, 12% at 64. Against the prior it replaced
 * (mostly 8, 16 and 192, PCT 13%: per-kind measurements from before codec
 * format 3, which no longer held), 101 fresh seeds: seed 002 1.78x, 003
 * 1.59x and the 001 finding 1.65x faster (settled), 000, 004 and 000's
 * Case 2 within noise. ScheduleArms still moves shares toward the kinds
 * that make a harness fail.
 */
export const PCT_PRIOR_WEIGHT = 0.03;
export const SCHEDULE_PRIOR: readonly number[] = [0.03, 0.03, 0.03, 0.643, 0.03, 0.117, 0.03, 0.03, 0.03, PCT_PRIOR_WEIGHT];
/**
 * Execs between full recomputations of corpus weights (new entries are
 * weighed as they arrive): at least REWEIGH_EVERY, and REWEIGH_PER_ENTRY per
 * corpus entry, since a recomputation reads every entry's feature slots (a
 * corpus of thousands made it 3% of a run).
 */
const REWEIGH_EVERY = 1000;
const REWEIGH_PER_ENTRY = 4;
/** With the entropic schedule: executions between full recomputations of the weights while the rare set changes. */
const ENTROPIC_REWEIGH = 100;
/** An entry's novel slots when they are not kept (reduceInputs off). */
const NO_SLOTS = new Uint32Array(0);
const NO_BUCKETS = new Uint8Array(0);
export const STRATEGIES: readonly Strategy[] = ['bytes', 'random', 'pct'];

/** Every option of a fuzz run, with defaults in DEFAULT_FUZZ_OPTIONS; the CLI maps flags onto it. */
export interface FuzzOptions {
  /** Seed of the engine's generator (mutations, corpus picks, random/pct sources). */
  seed: number;
  /** How schedules are chosen: from the input's bytes (mutated with feedback), or by a random walk / PCT per execution. */
  strategy: Strategy;
  /** Stop after this many seconds (0: no limit). */
  maxTotalTime: number;
  /** Stop after this many executions (0: no limit). */
  runs: number;
  /** Stop at the first new crash. */
  stopOnCrash: boolean;
  /** Use coverage feedback (false: every execution is a fresh random input — a baseline). */
  feedback: boolean;
  /** Corpus directories (the first is written); empty: in memory only. */
  corpusDirs: string[];
  /** Where crashes are stored; null: not stored (in-memory runs, tests). */
  crashDir: string | null;
  /** Seconds between status events (libFuzzer prints at power-of-two execs; we also print on time). */
  statusEvery: number;
  /** Seconds between re-reads of the corpus and crash directories (for workers sharing them). */
  syncEvery: number;
  /** Milliseconds clock (injected so the engine has no hidden time source). */
  now: () => number;
  /** Polled between executions (SIGINT / SIGTERM). */
  shouldStop: () => boolean;
  /**
   * Minimizes each new crash (keeping its signature) and stores the result
   * beside it; injected by the caller (the engine does not import the
   * minimizer), null to keep crashes as found.
   */
  minimizer: ((h: Harness, cfg: HarnessConfig, s: Scenario, signature: string) => Scenario | null) | null;
  /** How often each kind of input is made (normalised; benchmarks and experiments change it). */
  inputShares: Readonly<Record<InputKind, number>>;
  /** The prior weights of the kinds of new schedules: preemptions, then each rate of RANDOM_RATES (ScheduleArms; default SCHEDULE_PRIOR). */
  schedulePrior: readonly number[];
  /** Let failures steer the kinds of new schedules (ScheduleArms); false keeps the prior shares. */
  adaptSchedules: boolean;
  /**
   * Extensions run after each run that ended in a corrupt state (a failure
   * at quiescence, duplicates included): its programs with an operation
   * appended, schedule kept (Mutator.extend). 0: none.
   */
  extendTries: number;
  /** The most executions, as a share of all, that extensions may take (a harness failing at quiescence on most runs must not stall). */
  extendShare: number;
  /**
   * Extensions run after each run that was kept for reaching a new feature
   * bucket and did not fail: the interleaving that reached it, schedule
   * kept, with the threads going on (Mutator.extend), within extendShare.
   * A new schedule throws away the entry's interleaving and a
   * conflict-directed one changes it; only mutations and these keep it.
   * 0: none. Measured in session 17 and not adopted (bench/README.md): 4
   * took `mmu`'s stale-mmio 1.89x faster on one sample of 41 seeds and
   * 0.80x and 0.83x on two more; the seed races stayed level (2 x 101
   * seeds); 8 was slower on seed 004 (settled).
   */
  extendNew: number;
  /** How much a context-switch feature counts in an entry's rarity score, against 1 for any other (1: like the rest; 0: not at all). */
  switchRarity: number;
  /** How corpus entries are weighted (PowerSchedule): 'rarity', 'entropic' or 'hybrid'. */
  powerSchedule: PowerSchedule;
  /**
   * libFuzzer's -reduce_inputs: a child that reaches every feature its
   * parent entry was kept for, in fewer steps, takes the entry's place
   * (see Fuzzer.reduce).
   */
  reduceInputs: boolean;
  /**
   * AFL's favoured entries (cull_queue): for each feature slot the entry
   * that reaches it at the least cost (steps times input length) is its
   * top-rated entry; a greedy pass over the slots takes the top-rated entry
   * of each slot not yet covered, and the entries taken are favoured. An
   * entry that is not favoured weighs this much of its weight (1: off; AFL
   * skips such entries 95-99% of the time). New entries count as favoured
   * until the next recomputation of the weights. The rarity schedule only.
   * Measured in session 14 and not adopted (bench/README.md): the seed races
   * find their targets before the first cull; `mmu`'s stale-mmio leaned
   * faster (1.27x-1.59x, not settled), the APIC finding slower (0.50x).
   */
  unfavoredWeight: number;
  /**
   * Collect code and interleaving features, and keep the inputs that reach
   * new ones, even without feedback (the status lines of a random or PCT
   * run then show what it reached). Always on with feedback. The benchmarks
   * turn it off for the baselines, whose search never reads it: collecting
   * features cost them 18-28% of each execution (bench/README.md, session
   * 15), and a baseline that paid for them was measured slower than it is.
   */
  measureCoverage: boolean;
  /**
   * Atomicity features (ExecutionOptions.atomicity): a thread's two
   * accesses to one field with another thread's access between them, in an
   * order no serial execution gives (AVIO's unserializable interleavings).
   */
  atomicityFeatures: boolean;
  /** Generated inputs run at the start of a run from an empty corpus, before any input is made from the corpus (libFuzzer-style: no seed corpus needed). */
  startInputs: number;
  /**
   * How strongly an entry's cost (the steps its run took) lowers its pick
   * weight, against the corpus's mean steps: the weight is scaled by
   * (mean / steps) ^ costExponent, within [1/8, 8] (AFL's perf score
   * scales by the average execution time over the entry's, within
   * [0.1, 3]). 0: only the mild 1 + steps/2000 of weightOf. Measured in
   * session 16 and not adopted (bench/README.md): 1 and 2 moved no race
   * beyond noise (101 seeds; `mmu`'s targets 41), as stronger step
   * penalties had not in sessions 4 and 13: what cheaper entries save per
   * step they lose per execution.
   */
  costExponent: number;
  /**
   * How many times a mutation or new schedule of an entry that would run
   * exactly as the entry's own run did (runsAlike: only bytes its run never
   * read changed) is made again before it runs anyway; 0: run every one.
   * Adopted in session 17 (bench/README.md): 32-37% of mutations repeated
   * an earlier execution of the run, 6-7% with 8 retries; the races' median
   * times moved within noise (samples of 101 to 301 seeds; 000's Case 2
   * leaned slower in three and faster in a fourth), as a ~3% saving must.
   */
  alikeRetries: number;
  /**
   * Also make again (within alikeRetries) a generated input, mutation or
   * new schedule whose configuration and programs an earlier run of this
   * fuzzer ran without a single scheduling decision or model choice: such
   * a run is the same whatever the schedule and choice bytes, so the input
   * would repeat it (a lone thread's program, or every program empty).
   * Adopted in session 17 (bench/README.md): 17-19% of generated inputs
   * on apicv, mmio-gen and memslot-rmaps repeated such a run (none on
   * unsync and tdp-roots, whose runs always decide); the baselines, which
   * run the same program generator, keep drawing them.
   */
  skipSerialRepeats: boolean;
}

export const DEFAULT_FUZZ_OPTIONS: FuzzOptions = {
  seed: 1,
  strategy: 'bytes',
  maxTotalTime: 0,
  runs: 0,
  stopOnCrash: false,
  feedback: true,
  corpusDirs: [],
  crashDir: null,
  statusEvery: 2,
  syncEvery: 5,
  now: () => 0,
  shouldStop: () => false,
  minimizer: null,
  inputShares: INPUT_SHARES,
  schedulePrior: SCHEDULE_PRIOR,
  adaptSchedules: true,
  extendTries: 4,
  extendShare: 0.2,
  extendNew: 0,
  switchRarity: 1,
  powerSchedule: 'rarity',
  reduceInputs: false,
  unfavoredWeight: 1,
  measureCoverage: true,
  atomicityFeatures: false,
  startInputs: 32,
  costExponent: 0,
  alikeRetries: 8,
  skipSerialRepeats: true,
};

export interface FoundCrash {
  readonly signature: string;
  readonly file: string | null;
  readonly execs_to_find: number;
  /** Seconds from the start to the end of the crashing execution (its traced replay and report come after). */
  readonly seconds_to_find: number;
  readonly payload: Uint8Array;
  readonly sidecar: CrashSidecar;
}

export type FuzzEvent =
  | { event: 'start'; harness: string; strategy: Strategy; seed: number; corpus: number; off: readonly string[]; variants: readonly string[] }
  | { event: 'new'; execs: number; seconds: number; cov: number; ft: number; corp: number; bytes: number; exec_s: number; crashes: number }
  /** An entry replaced by a cheaper child that reaches the features it was kept for (reduceInputs; libFuzzer's REDUCE). */
  | { event: 'reduce'; execs: number; seconds: number; cov: number; ft: number; corp: number; bytes: number; exec_s: number; crashes: number }
  | { event: 'status'; execs: number; seconds: number; cov: number; ft: number; corp: number; bytes: number; exec_s: number; crashes: number }
  | { event: 'crash'; signature: string; file: string | null; execs: number; seconds: number; duplicate: boolean }
  | { event: 'minimized'; signature: string; file: string; ops: number; preemptions: number; steps: number }
  | { event: 'bad-input'; file: string; why: string }
  | { event: 'model-error'; message: string; execs: number }
  | { event: 'done'; execs: number; seconds: number; crashes: { signature: string; file: string | null; execs_to_find: number; seconds_to_find: number }[]; corp: number; cov: number; ft: number; stopped: 'time' | 'runs' | 'crash' | 'signal';
    /** The final share of each kind of new schedule (ScheduleArms): which schedules broke this harness; empty when not steered (no feedback, or adaptSchedules off). */
    schedules: { schedule: string; share: number }[] };

/** A corpus entry; its input and what its run gave change only when a cheaper child replaces it (Fuzzer.reduce). */
interface Entry {
  payload: Uint8Array;
  steps: number;
  /** Where its run made real scheduling decisions. */
  span: DecisionSpan;
  slots: Uint32Array;
  /** Its run's conflicts and picks, for conflict-directed schedules (null: none logged), in the arena. */
  plan: DirectPlan | null;
  /** What its run read of its decision bytes (runsAlike). */
  use: DecisionUse;
  /** Its payload decoded, when first needed (runsAlike). */
  scenario: Scenario | null;
  /** The slots that were new when it was kept, and their buckets then: the features it is kept for (libFuzzer's unique features; empty without reduceInputs). */
  readonly novel: Uint32Array;
  readonly novelBuckets: Uint8Array;
  /** What its children hit of the rare set (the entropic and hybrid power schedules only). */
  readonly local: LocalIncidence | null;
  /** Its index in the corpus. */
  readonly index: number;
  /** 1 + the rarity of the feature slots it hit (recomputed at reweighs, as slotFreq grows). */
  rarity: number;
  weight: number;
  /** In the favoured set (unfavoredWeight; always true when it is 1). */
  favored: boolean;
}

export interface FuzzSummary {
  readonly execs: number;
  readonly seconds: number;
  readonly crashes: readonly FoundCrash[];
  readonly corpus: number;
}

/** How many schedule-independent program sets a run remembers (skipSerialRepeats): a bound on memory, far above what the harnesses make. */
const MAX_SERIAL_RUNS = 1 << 16;

/**
 * A scenario's configuration and programs as a string: what a run without
 * decisions or choices depends on. One character per number (the count of
 * each program, each operation's kind, argument count and arguments; a
 * number above 0xfffe takes three), so that different programs never share
 * a key. Built flat from char codes rather than by template strings
 * (a tree of string pieces per key): serialRepeat, decode included, went
 * from 2.8 to 1.6 µs a call on apicv (session 18).
 */
const keyCodes: number[] = [];
function pushKeyCode(v: number): void {
  if (v >= 0 && v <= 0xfffe) keyCodes.push(v);
  else keyCodes.push(0xffff, (v >>> 16) & 0xffff, v & 0xffff);
}
function programsKey(s: Scenario): string {
  keyCodes.length = 0;
  pushKeyCode(s.config);
  for (const p of s.programs) {
    pushKeyCode(p.length);
    for (const op of p) {
      pushKeyCode(op.kind);
      pushKeyCode(op.args.length);
      for (const a of op.args) pushKeyCode(a);
    }
  }
  return String.fromCharCode.apply(null, keyCodes);
}

/** One fuzz run of one harness and switch configuration. */
export class Fuzzer {
  readonly opts: FuzzOptions;
  private readonly rng: seedrandom.PRNG;
  private readonly mutator: Mutator;
  /** The input shares summed (they need not add up to 1). */
  private readonly sharesTotal: number;
  /** The kinds of new schedules, steered by failures (feedback runs only). */
  private readonly arms: ScheduleArms;
  private readonly coverage = new GlobalCoverage(1 << FEATURE_MAP_BITS);
  /** The corpus entries' slot lists (SlotArena). */
  private readonly arena = new SlotArena();
  /** The slots the last execution reached a new bucket in (kept only with reduceInputs, the one user). */
  private readonly novelSlots: number[] = [];
  /** Entries replaced by a cheaper child (reduceInputs). */
  reduced = 0;
  private readonly fm = new FeatureMap();
  private readonly corpus: Entry[] = [];
  private readonly slotFreq = new Uint32Array(1 << FEATURE_MAP_BITS);
  /** For each slot, the corpus index of its cheapest entry (-1: none) and that entry's cost, steps times bytes (unfavoredWeight < 1 only). */
  private readonly topRated: Int32Array | null;
  private readonly topCost: Float64Array | null;
  private coveredScratch: Uint8Array | null = null;
  /** Executions at the last cull. */
  private lastCull = 0;
  private readonly store: CorpusStore;
  private readonly crashStore: CrashStore | null;
  private readonly found: FoundCrash[] = [];
  private readonly sigs = new Set<string>();
  /** Weights of older entries drift as slotFreq grows; they are recomputed at most every REWEIGH_EVERY (or REWEIGH_PER_ENTRY per entry) execs. */
  private weightsStale = false;
  private lastReweigh = 0;
  private totalWeight = 0;
  /** cumWeight[i]: the weights of corpus[0..i] summed (a weighted pick is a binary search). */
  private cumWeight: number[] = [];
  private corpusBytes = 0;
  /** The corpus entries' steps summed (costExponent weighs an entry against their mean). */
  private corpusSteps = 0;
  private execs = 0;
  private start = 0;
  private lastStatus = 0;
  private lastSync = 0;
  private lastMutation = 'initial';
  /** Where the input being run came from (InputOrigin): for diagnostics (bench/input-origins.ts). */
  lastOrigin: InputOrigin = 'start';
  /** Recent executions' decision span (an average), where generated inputs place their preemptions. */
  private spanLo = 0;
  private spanHi = 200;
  private spanSeen = false;
  /** Crashes seen whose signature was already stored (by an earlier run or another worker). */
  duplicatesSeen = 0;
  /** Extensions of runs that ended in a corrupt state, run before anything else (see extendTries). */
  private readonly pending: { bytes: Uint8Array; how: string }[] = [];
  private extensionsRun = 0;
  /** Extensions of runs kept for new features (extendNew), run when no extension of a corrupt run waits; their own budget of extendShare. */
  private readonly pendingNew: { bytes: Uint8Array; how: string }[] = [];
  private newExtensionsRun = 0;
  /** Inputs (mutations, new schedules, generated inputs) made again because they would have repeated a run: their parent's (alikeRetries) or a serial one (skipSerialRepeats). */
  private alikeSkipped = 0;
  /** Configurations and programs (programsKey) whose run made no scheduling decision and asked no choice (skipSerialRepeats). */
  private readonly serialRuns = new Set<string>();
  /** The last payload runsAsParent or serialRepeat decoded, for runOne to reuse. */
  private decodedLast: { bytes: Uint8Array; s: Scenario } | null = null;
  /** Runs log their conflicts, and entries keep a DirectPlan (bytes with feedback, and a share for conflict-directed schedules). */
  private readonly directing: boolean;
  /** Entries with a DirectPlan. */
  private planned = 0;
  /**
   * The random and PCT strategies' scheduler: one for the whole run, as
   * Shuttle keeps one per test. PCT's k (the decisions its change points
   * are drawn from) then tracks the run's longest execution; one made per
   * execution drew every change point from its first guess, 400, where
   * most runs make far fewer decisions (session 10).
   */
  private baseline: DecisionSource | null = null;
  /** Features are collected (feedback, or measureCoverage). */
  private readonly collecting: boolean;
  /** The entropic power schedule's state and the entries' weights under it (null with the rarity schedule). */
  private readonly entropic: Entropic | null;
  private readonly tree: WeightTree | null;
  /** The rare set's generation when the tree's weights were last all recomputed, and the executions then. */
  private treeGeneration = 0;
  private lastRebuild = 0;

  constructor(readonly harness: Harness, readonly cfg: HarnessConfig, opts: Partial<FuzzOptions>, readonly onEvent: (e: FuzzEvent) => void) {
    this.opts = { ...DEFAULT_FUZZ_OPTIONS, ...opts };
    this.rng = seedrandom.xor4096(`mmufuzz:${this.opts.seed}`);
    this.mutator = new Mutator(harness, this.rng);
    this.sharesTotal = INPUT_KINDS.reduce((sum, k) => sum + this.opts.inputShares[k], 0);
    // Only the bytes strategy runs the schedules the arms pick (random and PCT replace them).
    this.arms = new ScheduleArms(this.opts.schedulePrior, RANDOM_RATES, this.opts.strategy === 'bytes' && this.opts.feedback && this.opts.adaptSchedules);
    this.directing = this.opts.strategy === 'bytes' && this.opts.feedback && this.opts.inputShares.direct > 0;
    this.collecting = this.opts.feedback || this.opts.measureCoverage;
    const entropic = this.opts.feedback && this.opts.powerSchedule !== 'rarity';
    this.entropic = entropic ? new Entropic(1 << FEATURE_MAP_BITS) : null;
    this.tree = entropic ? new WeightTree() : null;
    const culling = this.opts.unfavoredWeight < 1 && !entropic;
    this.topRated = culling ? new Int32Array(1 << FEATURE_MAP_BITS).fill(-1) : null;
    this.topCost = culling ? new Float64Array(1 << FEATURE_MAP_BITS) : null;
    this.store = new CorpusStore(this.opts.corpusDirs);
    this.crashStore = this.opts.crashDir === null ? null : new CrashStore(this.opts.crashDir, harness.name);
  }

  private seconds(): number {
    return (this.opts.now() - this.start) / 1000;
  }

  /** Runs to a stop condition without returning to the event loop (tests, benchmarks). */
  run(): FuzzSummary {
    let stopped = this.begin();
    while (stopped === null) stopped = this.iterate();
    return this.finish(stopped);
  }

  /**
   * The same, returning to the event loop every `yieldEvery` ms so that
   * signal handlers (SIGINT / SIGTERM → shouldStop) and child-process I/O run.
   */
  async runAsync(yieldEvery = 50): Promise<FuzzSummary> {
    // New corpus inputs are written in the background while the loop goes on; all are on disk before `done`.
    this.store.background();
    let stopped = this.begin();
    let last = this.opts.now();
    while (stopped === null) {
      stopped = this.iterate();
      const now = this.opts.now();
      if (now - last >= yieldEvery) {
        last = now;
        await new Promise<void>((res) => setImmediate(res));
      }
    }
    await this.store.flush();
    return this.finish(stopped);
  }

  /** Start: load and replay the corpus (or the empty input and a few generated ones). */
  private begin(): Stop | null {
    this.start = this.opts.now();
    this.lastStatus = this.start;
    this.lastSync = this.start;
    const loaded = this.store.load((file, why) => this.onEvent({ event: 'bad-input', file, why }));
    this.onEvent({ event: 'start', harness: this.harness.name, strategy: this.opts.strategy, seed: this.opts.seed, corpus: loaded.length, off: this.cfg.off, variants: this.cfg.variants });
    // Replay what is known before exploring: the corpus, then the empty input.
    let stopped: Stop | null = null;
    for (const l of loaded) {
      this.lastMutation = `corpus ${l.name}`;
      this.lastOrigin = 'start';
      if (this.runOne(l.payload, false) && this.opts.stopOnCrash) {
        stopped = 'crash';
        break;
      }
    }
    if (stopped === null && this.corpus.length === 0) {
      this.lastMutation = 'empty input';
      this.lastOrigin = 'start';
      if (this.runOne(new Uint8Array(0), true) && this.opts.stopOnCrash) stopped = 'crash';
      if (this.corpus.length === 0) this.addEntry(new Uint8Array(0), 1, new Uint32Array(0), { lo: 0, hi: 0 }, null, UNKNOWN_USE);
      // A few generated inputs to start from (startInputs).
      for (let i = 0; i < this.opts.startInputs && stopped === null; i++) {
        this.lastMutation = 'generated input';
        const arm = this.nextArm();
        if (this.runOne(this.mutator.generate(this.span(), this.arms.arms[arm]!), true, arm) && this.opts.stopOnCrash) stopped = 'crash';
      }
    }
    return stopped;
  }

  /** One iteration: a stop check, then a mutated or generated input. */
  private iterate(): Stop | null {
    if (this.opts.shouldStop()) return 'signal';
    if (this.opts.runs > 0 && this.execs >= this.opts.runs) return 'runs';
    if (this.opts.maxTotalTime > 0 && this.seconds() >= this.opts.maxTotalTime) return 'time';
    let payload: Uint8Array;
    // The kind of schedule of a generated or rescheduled input (ScheduleArms), -1 for a mutation or an extension.
    let arm = -1;
    let ext = this.pending.pop();
    if (ext !== undefined) this.extensionsRun++;
    else {
      ext = this.pendingNew.pop();
      if (ext !== undefined) this.newExtensionsRun++;
    }
    // Without feedback every input is generated (the baselines replace its schedule with their own).
    const kind = ext !== undefined ? null : this.opts.feedback ? this.inputKind() : 'generate';
    // A conflict-directed schedule needs an entry whose run logged conflicts; without one it is a reschedule.
    const planned = kind === 'direct' ? this.pickPlanned() : null;
    // The entry the input is made from (its children's features feed the entropic schedule).
    let from: Entry | null = planned;
    if (ext !== undefined) {
      payload = ext.bytes;
      this.lastMutation = ext.how;
      this.lastOrigin = 'extend';
    } else if (planned !== null) {
      const m = this.mutator.direct(planned.payload, planned.plan!);
      payload = m.bytes;
      this.lastMutation = m.how;
      this.lastOrigin = 'direct';
    } else if (kind === 'mutate' || kind === 'reschedule' || kind === 'direct') {
      const parent = this.pick();
      from = parent;
      const other = this.corpus.length > 1 && this.rng() < 0.2 ? this.corpus[Math.floor(this.rng() * this.corpus.length)]!.payload : null;
      if (kind !== 'mutate') arm = this.nextArm();
      const make = () => (arm >= 0 ? this.mutator.reschedule(parent.payload, parent.span, this.arms.arms[arm]!) : this.mutator.mutate(parent.payload, other, parent.span));
      let m = make();
      for (let r = 0; r < this.opts.alikeRetries && (this.runsAsParent(parent, m.bytes) || this.serialRepeat(m.bytes)); r++) {
        this.alikeSkipped++;
        m = make();
      }
      payload = m.bytes;
      this.lastMutation = m.how;
      // A conflict-directed input without a planned entry is a reschedule.
      this.lastOrigin = arm >= 0 ? 'reschedule' : 'mutate';
    } else {
      arm = this.nextArm();
      payload = this.mutator.generate(this.span(), this.arms.arms[arm]!);
      if (this.opts.feedback) {
        for (let r = 0; r < this.opts.alikeRetries && this.serialRepeat(payload); r++) {
          this.alikeSkipped++;
          payload = this.mutator.generate(this.span(), this.arms.arms[arm]!);
        }
      }
      this.lastMutation = this.opts.feedback ? `generated input (${this.describeArm(arm)})` : 'random input';
      this.lastOrigin = 'generate';
    }
    const crashed = this.runOne(payload, true, arm, from);
    this.housekeeping();
    return crashed && this.opts.stopOnCrash ? 'crash' : null;
  }

  private finish(stopped: Stop): FuzzSummary {
    const seconds = this.seconds();
    this.onEvent({
      event: 'done', execs: this.execs, seconds, corp: this.corpus.length, cov: this.coverage.slots, ft: this.coverage.features, stopped,
      schedules: this.arms.adaptive ? this.scheduleShares().map((x) => ({ schedule: x.schedule, share: Math.round(x.share * 1000) / 1000 })) : [],
      crashes: this.found.map((c) => ({ signature: c.signature, file: c.file, execs_to_find: c.execs_to_find, seconds_to_find: c.seconds_to_find })),
    });
    return { execs: this.execs, seconds, crashes: this.found, corpus: this.corpus.length };
  }

  /**
   * Runs one payload; keeps it if new; handles a failure. Returns true on a
   * new crash. `arm`: the ScheduleArms kind its schedule came from (-1: none,
   * a mutation or a replay), credited with the outcome.
   */
  private runOne(payload: Uint8Array, keep: boolean, arm = -1, parent: Entry | null = null): boolean {
    const s = this.decodedLast !== null && this.decodedLast.bytes === payload ? this.decodedLast.s : decode(this.harness, payload);
    this.decodedLast = null;
    let outcome: Outcome;
    try {
      if (this.collecting) this.fm.clear();
      outcome = this.harness.execute(s, this.cfg, this.source(s), this.collecting ? { features: this.fm, conflictLog: this.directing, atomicity: this.opts.atomicityFeatures } : {});
    } catch (e) {
      this.execs++;
      if (e instanceof ModelError) {
        this.onEvent({ event: 'model-error', message: e.message.split('\n')[0]!, execs: this.execs });
        return false;
      }
      throw e;
    }
    this.execs++;
    this.observeSpan(outcome);
    if (this.opts.skipSerialRepeats && this.opts.feedback && outcome.decisionSteps.length === 0 && outcome.decisions.choices.length === 0 && this.serialRuns.size < MAX_SERIAL_RUNS) {
      this.serialRuns.add(programsKey(s));
    }
    // Computed once: the arms, the extensions and the crash store all use it.
    const signature = outcome.failure === null ? null : signatureOf(outcome.failure);
    if (arm >= 0) this.arms.record(arm, signature);
    if (this.collecting) this.learn(payload, keep, outcome, parent);
    if (outcome.failure === null || signature === null) return false;
    if (outcome.failure.step < 0) this.queueExtensions(payload, signature, this.opts.extendTries, this.pending, this.extensionsRun);
    return this.onFailure(s, payload, outcome, signature);
  }

  /** What one execution's features add: a corpus entry when it reached a new bucket, or a cheaper replacement of its parent (reduceInputs). */
  private learn(payload: Uint8Array, keep: boolean, outcome: Outcome, parent: Entry | null): void {
    const fresh = this.coverage.novelty(this.fm, true, this.opts.reduceInputs ? this.novelSlots : null);
    if (this.entropic !== null) {
      this.entropic.observe(this.fm.touched(), parent?.local ?? null);
      if (parent !== null) this.tree!.set(parent.index, this.weightOf(parent));
    }
    if (fresh > 0 && (keep || this.opts.feedback)) {
      const slots = GlobalCoverage.hitSlots(this.fm, this.arena);
      for (const sl of slots) this.slotFreq[sl]!++;
      this.addEntry(payload, outcome.steps, slots, this.spanOf(outcome), this.directing ? directPlanOf(outcome, this.arena) : null, decisionUse(outcome.decisionSteps, outcome.decisions.choices));
      if (outcome.failure === null && this.opts.extendNew > 0) this.queueExtensions(payload, 'new features', this.opts.extendNew, this.pendingNew, this.newExtensionsRun);
      // The store names inputs by hash only to write them; an in-memory run (no directory) skips it.
      if (keep && this.store.dirs.length > 0) this.store.add(payload);
      this.onEvent({ event: 'new', ...this.stats() });
    } else if (parent !== null && this.opts.reduceInputs && outcome.failure === null && outcome.steps < parent.steps && this.holdsNovel(parent)) {
      // A failing run never replaces an entry (libFuzzer keeps no crashing input in its corpus).
      this.reduce(parent, payload, outcome);
    }
  }

  /**
   * A run that ended in a corrupt state — an invariant broken at quiescence,
   * after every thread finished — says nothing yet of what the corruption
   * leads to. Its extensions (Mutator.extend) let the threads go on from
   * it: seed 000's lost unsync_children update (INVARIANT unsync-count)
   * becomes the underflow WARN when a sync follows, in about 5% of
   * extensions against 0.2% of fresh inputs (bench/README.md). Only where
   * schedules come from the input (bytes with feedback), and within
   * extendShare of all executions.
   */
  private queueExtensions(payload: Uint8Array, after: string, tries: number, queue: { bytes: Uint8Array; how: string }[], run: number): void {
    if (this.opts.strategy !== 'bytes' || !this.opts.feedback || tries <= 0) return;
    if (run + queue.length >= this.opts.extendShare * (this.execs + 1)) return;
    for (let i = 0; i < tries; i++) {
      const e = this.mutator.extend(payload, i % 2 === 0 ? 'each' : 'one');
      if (e === null) return;
      queue.push({ bytes: e.bytes, how: `${e.how} after ${after}` });
    }
  }

  /**
   * True when `bytes` would run exactly as `parent`'s input ran (runsAlike).
   * Keeps the decoded scenario for runOne, which runs the bytes next.
   */
  /** How many inputs (mutations, new schedules, generated inputs) were made again because they would have repeated a run: their parent's (alikeRetries) or a serial one (skipSerialRepeats). */
  get alikeSkips(): number {
    return this.alikeSkipped;
  }

  /**
   * True when `bytes` decode to a configuration and programs that an
   * earlier run ran without any decision or choice (skipSerialRepeats).
   * Keeps the decoded scenario for runOne.
   */
  private serialRepeat(bytes: Uint8Array): boolean {
    if (!this.opts.skipSerialRepeats || this.serialRuns.size === 0) return false;
    let s: Scenario;
    if (this.decodedLast !== null && this.decodedLast.bytes === bytes) s = this.decodedLast.s;
    else {
      s = decode(this.harness, bytes);
      this.decodedLast = { bytes, s };
    }
    return this.serialRuns.has(programsKey(s));
  }

  private runsAsParent(parent: Entry, bytes: Uint8Array): boolean {
    const s = decode(this.harness, bytes);
    this.decodedLast = { bytes, s };
    parent.scenario ??= decode(this.harness, parent.payload);
    return runsAlike(parent.scenario, s, parent.use);
  }

  /** Folds a run's decision span into the running average that generated inputs use. */
  private observeSpan(o: Outcome): void {
    const d = o.decisionSteps;
    if (d.length === 0) return;
    const lo = d[0]!;
    const hi = d[d.length - 1]!;
    if (!this.spanSeen) {
      this.spanLo = lo;
      this.spanHi = hi;
      this.spanSeen = true;
    } else {
      this.spanLo += (lo - this.spanLo) / 16;
      this.spanHi += (hi - this.spanHi) / 16;
    }
  }

  /** A run's own decision span (the running average when it made no real choice). */
  private spanOf(o: Outcome): DecisionSpan {
    const d = o.decisionSteps;
    return d.length === 0 ? this.span() : { lo: d[0]!, hi: d[d.length - 1]! };
  }

  private source(s: Scenario): DecisionSource {
    switch (this.opts.strategy) {
      case 'bytes':
        return scenarioSource(s);
      case 'random':
        return (this.baseline ??= new RandomWalkSource(Math.floor(this.rng() * 2 ** 31)));
      case 'pct':
        return (this.baseline ??= new PctSource(Math.floor(this.rng() * 2 ** 31), 3, 400));
    }
  }

  private onFailure(s: Scenario, payload0: Uint8Array, outcome: Outcome, signature: string): boolean {
    const duplicate = this.sigs.has(signature) || (this.crashStore?.knows(signature) ?? false);
    if (duplicate) {
      if (!this.sigs.has(signature)) {
        this.sigs.add(signature);
        this.duplicatesSeen++;
        this.onEvent({ event: 'crash', signature, file: null, execs: this.execs, seconds: this.seconds(), duplicate: true });
      }
      return false;
    }
    this.sigs.add(signature);
    // Found when its execution failed: the traced replay and the report below are not part of the search.
    const foundAt = this.seconds();
    // The crash file must replay with the bytes strategy: turn a random/PCT schedule into preemption bytes.
    let payload = payload0;
    let scenario = s;
    if (this.opts.strategy !== 'bytes') {
      const pre = outcome.decisions.schedule.map((thread, i) => ({ step: outcome.decisionSteps[i]!, thread }));
      const choices = outcome.decisions.choices.every((c) => c < 256) ? Uint8Array.from(outcome.decisions.choices) : new Uint8Array(0);
      scenario = { ...s, walkSeed: 0, walkRate: 0, pct: false, schedule: encodePreemptions(pre), choices };
      payload = encode(this.harness, scenario);
    }
    const traced = this.harness.execute(scenario, this.cfg, scenarioSource(scenario), { trace: true });
    // The crash file must give the crash again: a traced replay (which runs every step, preludes included)
    // that fails otherwise is a determinism bug of mmufuzz — in the runtime, a harness or a set-up snapshot.
    // Exact only where every decision converted to bytes (choices of the random and PCT sources above 255 do not).
    const exact = this.opts.strategy === 'bytes' || scenario.choices.length === outcome.decisions.choices.length;
    const replayed = traced.failure === null ? 'no failure' : signatureOf(traced.failure);
    if (exact && replayed !== signature) {
      this.onEvent({ event: 'model-error', message: `the crash ${signature} does not replay: its traced replay gives ${replayed} (a determinism bug)`, execs: this.execs });
    }
    const sidecar = this.sidecar(scenario, traced.failure === null ? outcome : traced, signature, foundAt);
    const trace = renderSwimlanes(traced) + `\n\nreplay: mmufuzz replay <this file> --trace\n${formatSchedule(traced.decisions)}`;
    const file = this.crashStore === null ? null : this.crashStore.store(signature, payload, sidecar, trace);
    const c: FoundCrash = { signature, file, execs_to_find: this.execs, seconds_to_find: foundAt, payload, sidecar };
    this.found.push(c);
    this.onEvent({ event: 'crash', signature, file, execs: this.execs, seconds: c.seconds_to_find, duplicate: false });
    if (file !== null && this.opts.minimizer !== null && this.crashStore !== null) {
      const m = this.opts.minimizer(this.harness, this.cfg, scenario, signature);
      if (m !== null) {
        const mo = this.harness.execute(m, this.cfg, scenarioSource(m), { trace: true });
        if (mo.failure !== null && signatureOf(mo.failure) === signature) {
          const side = this.sidecar(m, mo, signature, foundAt);
          const mfile = this.crashStore.storeMore(signature, encode(this.harness, m), { ...side, found: { ...side.found, minimized: true } }, renderSwimlanes(mo));
          this.onEvent({ event: 'minimized', signature, file: mfile, ops: Object.values(side.program).reduce((n, p) => n + p.length, 0), preemptions: side.preemptions.length, steps: mo.steps });
        }
      }
    }
    return true;
  }

  /** The metadata of a crash file; `seconds`: when the crash was found. */
  private sidecar(s: Scenario, o: Outcome, signature: string, seconds: number): CrashSidecar {
    const f = o.failure!;
    const program = describeProgram(this.harness, s);
    return {
      format: 1, harness: this.harness.name, switches: { off: [...this.cfg.off], variants: [...this.cfg.variants] }, signature,
      kind: f.kind, site: f.site, detail: f.detail, message: f.message, step: f.step, thread: f.thread,
      config: this.harness.describeConfig(s.config), program,
      preemptions: decodePreemptions(s.schedule), choices: Array.from(s.choices), random_switches: { seed: s.walkSeed, rate: s.walkRate }, pct: s.pct,
      schedule: formatSchedule(o.decisions), steps: o.steps,
      found: { strategy: this.opts.strategy, seed: this.opts.seed, execs: this.execs, seconds, mutation: this.lastMutation, minimized: false },
    };
  }

  private addEntry(payload: Uint8Array, steps: number, slots: Uint32Array, span: DecisionSpan, plan: DirectPlan | null, use: DecisionUse): void {
    const novel = this.opts.reduceInputs ? Uint32Array.from(this.novelSlots) : NO_SLOTS;
    const novelBuckets = this.opts.reduceInputs ? Uint8Array.from(novel, (sl) => BUCKETS[this.fm.hits[sl]!]!) : NO_BUCKETS;
    const e: Entry = {
      payload, steps, span, slots, plan, use, scenario: null, novel, novelBuckets, local: this.entropic?.newLocal() ?? null, index: this.corpus.length, rarity: 0, weight: 0, favored: true,
    };
    if (this.topRated !== null) this.rate(e);
    if (plan !== null) this.planned++;
    e.rarity = this.rarityOf(e);
    e.weight = this.weightOf(e);
    this.corpus.push(e);
    if (this.tree !== null) {
      this.tree.push(e.weight);
    } else {
      this.totalWeight += e.weight;
      this.cumWeight.push(this.totalWeight);
    }
    this.corpusBytes += payload.length;
    this.corpusSteps += steps;
    this.weightsStale = true;
  }

  /** True when the last execution reached every feature `e` was kept for: each of its new slots, in the same bucket. */
  private holdsNovel(e: Entry): boolean {
    const hits = this.fm.hits;
    const novel = e.novel;
    if (novel.length === 0) return false;
    for (let k = 0; k < novel.length; k++) if (BUCKETS[hits[novel[k]!]!] !== e.novelBuckets[k]) return false;
    return true;
  }

  /**
   * libFuzzer's -reduce_inputs: the last execution, a child of `e` that
   * added no feature, did not fail, and reached every one `e` was kept for in fewer steps,
   * takes `e`'s place — its input, steps, slots and plan. Every later child
   * of the entry then costs less. Its weight follows at the next reweigh
   * (at once under the entropic schedules). The replaced input stays in the
   * corpus directory (a resumed run replays both).
   */
  private reduce(e: Entry, payload: Uint8Array, outcome: Outcome): void {
    const slots = GlobalCoverage.hitSlots(this.fm, this.arena);
    for (const sl of e.slots) this.slotFreq[sl]!--;
    for (const sl of slots) this.slotFreq[sl]!++;
    this.corpusBytes += payload.length - e.payload.length;
    this.corpusSteps += outcome.steps - e.steps;
    const plan = this.directing ? directPlanOf(outcome, this.arena) : null;
    this.planned += (plan !== null ? 1 : 0) - (e.plan !== null ? 1 : 0);
    e.payload = payload;
    e.scenario = null;
    e.use = decisionUse(outcome.decisionSteps, outcome.decisions.choices);
    e.steps = outcome.steps;
    e.span = this.spanOf(outcome);
    e.slots = slots;
    e.plan = plan;
    e.rarity = this.rarityOf(e);
    if (this.topRated !== null) this.rate(e);
    this.weightsStale = true;
    if (this.tree !== null) this.tree.set(e.index, this.weightOf(e));
    if (this.store.dirs.length > 0) this.store.add(payload);
    this.reduced++;
    this.onEvent({ event: 'reduce', ...this.stats() });
  }

  /** AFL's update_bitmap_score: `e` becomes the top-rated entry of each of its slots where it costs less than the current one. */
  private rate(e: Entry): void {
    const top = this.topRated!;
    const cost = this.topCost!;
    const c = e.steps * e.payload.length;
    for (const sl of e.slots) {
      if (top[sl]! < 0 || c < cost[sl]!) {
        top[sl] = e.index;
        cost[sl] = c;
      }
    }
  }

  /**
   * AFL's cull_queue: marks as favoured the top-rated entry of every slot
   * not yet covered by an entry already taken (slots in index order), and
   * every other entry as not.
   */
  private cull(top: Int32Array): void {
    for (const e of this.corpus) e.favored = false;
    const covered = this.coveredScratch ??= new Uint8Array(top.length);
    covered.fill(0);
    for (let sl = 0; sl < top.length; sl++) {
      const i = top[sl]!;
      if (i < 0 || covered[sl] === 1) continue;
      const e = this.corpus[i]!;
      e.favored = true;
      for (const s of e.slots) covered[s] = 1;
    }
  }

  /**
   * Rare features count more (or, with the entropic schedule, an entry
   * whose children still hit varied rare features); large and slow inputs
   * less.
   */
  private weightOf(e: Entry): number {
    const size = 1 + e.payload.length / 64;
    const time = (1 + e.steps / 2000) * this.relativeCost(e);
    const en = this.entropic;
    if (en === null) return (e.favored ? e.rarity : e.rarity * this.opts.unfavoredWeight) / size / time;
    const energy = en.weight(e.local!, this.corpus.length);
    if (this.opts.powerSchedule !== 'hybrid') return energy / size / time;
    // A new entry's energy is ln(rare + 1): the factor starts at 1.
    const fresh = Math.log(en.rareCount + 1);
    return (fresh > 0 ? (e.rarity * energy) / fresh : e.rarity) / size / time;
  }

  /** (steps / the corpus's mean steps) ^ costExponent, within [1/8, 8]: 1 when costExponent is 0. */
  private relativeCost(e: Entry): number {
    const p = this.opts.costExponent;
    if (p === 0 || this.corpus.length === 0) return 1;
    const mean = this.corpusSteps / this.corpus.length;
    return Math.min(8, Math.max(0.125, ((e.steps + 1) / (mean + 1)) ** p));
  }

  /** 1 + the rarity of an entry's slots: each adds 1 / the number of entries that hit it (switchRarity for a context-switch slot). */
  private rarityOf(e: Entry): number {
    let rare = 0;
    const sw = this.fm.switchSlots;
    const k = this.opts.switchRarity;
    for (const sl of e.slots) rare += (sw[sl] === 1 ? k : 1) / this.slotFreq[sl]!;
    return 1 + rare;
  }

  /** A weighted pick among the entries with a DirectPlan (a few tries), or null. */
  private pickPlanned(): Entry | null {
    if (this.planned === 0) return null;
    for (let i = 0; i < 8; i++) {
      const e = this.pick();
      if (e.plan !== null) return e;
    }
    return null;
  }

  /** Weighted pick over the corpus. */
  private pick(): Entry {
    if (this.tree !== null) return this.pickEntropic(this.tree);
    if (this.weightsStale) {
      const rarity = this.execs - this.lastReweigh >= Math.max(REWEIGH_EVERY, REWEIGH_PER_ENTRY * this.corpus.length);
      // The favoured set is cheap to recompute (a pass over the slots), so it follows new entries every REWEIGH_EVERY.
      const cull = this.topRated !== null && this.execs - this.lastCull >= REWEIGH_EVERY;
      if (rarity || cull) {
        if (this.topRated !== null) {
          this.cull(this.topRated);
          this.lastCull = this.execs;
        }
        this.totalWeight = 0;
        for (let i = 0; i < this.corpus.length; i++) {
          const e = this.corpus[i]!;
          if (rarity) e.rarity = this.rarityOf(e);
          e.weight = this.weightOf(e);
          this.totalWeight += e.weight;
          this.cumWeight[i] = this.totalWeight;
        }
        if (rarity) {
          this.weightsStale = false;
          this.lastReweigh = this.execs;
        }
      }
    }
    // The first entry whose cumulative weight reaches x.
    const x = this.rng() * this.totalWeight;
    const cum = this.cumWeight;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! >= x) hi = mid;
      else lo = mid + 1;
    }
    return this.corpus[lo]!;
  }

  /**
   * The entropic schedule's pick. A parent's weight follows each of its
   * children; every weight moves when the rare set changes (and with the
   * corpus average of children), so all are recomputed then, at most every
   * ENTROPIC_REWEIGH executions, and at least every REWEIGH_EVERY.
   */
  private pickEntropic(tree: WeightTree): Entry {
    const e = this.entropic!;
    const since = this.execs - this.lastRebuild;
    if ((e.generation !== this.treeGeneration && since >= ENTROPIC_REWEIGH) || since >= REWEIGH_EVERY) {
      // Rarity reads every slot of every entry: at the rarity schedule's pace.
      const rarity = this.opts.powerSchedule === 'hybrid' && this.execs - this.lastReweigh >= Math.max(REWEIGH_EVERY, REWEIGH_PER_ENTRY * this.corpus.length);
      if (rarity) this.lastReweigh = this.execs;
      tree.rebuild((i) => {
        const entry = this.corpus[i]!;
        if (rarity) entry.rarity = this.rarityOf(entry);
        return this.weightOf(entry);
      });
      this.treeGeneration = e.generation;
      this.lastRebuild = this.execs;
    }
    const total = tree.total();
    if (!(total > 0)) return this.corpus[Math.floor(this.rng() * this.corpus.length)]!;
    return this.corpus[tree.find(this.rng() * total)]!;
  }

  /**
   * The kind of the next new schedule. The random and PCT baselines replace
   * the schedule, so they always take the first kind: their programs then
   * do not depend on the engine's schedule prior.
   */
  private nextArm(): number {
    return this.opts.strategy === 'bytes' ? this.arms.pick(this.rng()) : 0;
  }

  private describeArm(i: number): string {
    const a = this.arms.arms[i]!;
    return a.shape === 'random-switches' ? `random switches at ${a.rate}/256` : a.shape === 'preemptions' ? 'preemptions' : 'PCT priorities (depth 3)';
  }

  /**
   * Each corpus entry: its input, the steps its run took, the slots it hit,
   * the slots it was kept for (and their buckets; with reduceInputs), its
   * current pick weight, under the entropic and hybrid schedules its
   * children executed so far (0 otherwise), and whether it is favoured
   * (unfavoredWeight): for reports and tests.
   */
  corpusStats(): { payload: Uint8Array; steps: number; slots: readonly number[]; novel: readonly number[]; novelBuckets: readonly number[]; weight: number; children: number; favored: boolean }[] {
    return this.corpus.map((e) => ({
      payload: e.payload, steps: e.steps, slots: Array.from(e.slots), novel: Array.from(e.novel), novelBuckets: Array.from(e.novelBuckets),
      weight: this.tree !== null ? this.tree.weight(e.index) : e.weight, children: e.local?.children ?? 0, favored: e.favored,
    }));
  }

  /** The current share of each kind of new schedule (ScheduleArms), for reports and tests. */
  scheduleShares(): { schedule: string; share: number }[] {
    return this.arms.shares().map((share, i) => ({ schedule: this.describeArm(i), share }));
  }

  private inputKind(): InputKind {
    const shares = this.opts.inputShares;
    let x = this.rng() * this.sharesTotal;
    for (const k of INPUT_KINDS) {
      x -= shares[k];
      if (x < 0) return k;
    }
    return 'mutate';
  }

  private span(): DecisionSpan {
    return { lo: Math.round(this.spanLo), hi: Math.round(this.spanHi) };
  }

  private stats(): Omit<Extract<FuzzEvent, { event: 'status' }>, 'event'> {
    const seconds = this.seconds();
    return {
      execs: this.execs, seconds, cov: this.coverage.slots, ft: this.coverage.features, corp: this.corpus.length, bytes: this.corpusBytes,
      exec_s: seconds > 0 ? Math.round(this.execs / seconds) : 0, crashes: this.found.length,
    };
  }

  private housekeeping(): void {
    const now = this.opts.now();
    if (now - this.lastStatus >= this.opts.statusEvery * 1000) {
      this.lastStatus = now;
      this.onEvent({ event: 'status', ...this.stats() });
    }
    if (now - this.lastSync >= this.opts.syncEvery * 1000) {
      this.lastSync = now;
      this.crashStore?.rescan();
      for (const l of this.store.load((file, why) => this.onEvent({ event: 'bad-input', file, why }))) {
        this.lastMutation = `synced ${l.name}`;
        this.lastOrigin = 'start';
        this.runOne(l.payload, false);
      }
    }
  }
}
