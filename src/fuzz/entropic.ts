/**
 * The entropic power schedule (Böhme, Manès, Cha: "Boosting Fuzzer
 * Efficiency: An Information Theoretic Perspective", FSE 2020; libFuzzer's
 * `-entropic`, its default since LLVM 11), over mmufuzz's feature slots.
 *
 * Each corpus entry is a source of information: the executions of its
 * children (its mutants, new schedules and conflict-directed schedules)
 * hit features, and the rarer of those (the rare set, below) are what a
 * child can still teach. An entry's energy is the Shannon entropy of the
 * rare features its children have hit so far, estimated with add-one
 * smoothing: an entry whose children keep hitting different rare features
 * has much left to give; one whose children hit nothing rare, or the same
 * rare feature every time, has little. A new entry has the most (every
 * rare feature equally possible), and the energy of one that stops paying
 * falls as its children accumulate (the "abundant" term below).
 *
 * The rare set is libFuzzer's: every slot joins it when first hit; it is
 * cut back to the MAX_RARE rarest only while its most frequent member has
 * been hit in more than RARE_THRESHOLD executions. So early in a run nearly
 * everything is rare, and later about MAX_RARE slots are.
 *
 * Slots, not (slot, hit-count bucket) pairs as libFuzzer's features are:
 * the local counts are per slot. Counts are of executions (a slot hit many
 * times in one execution counts once), saturating at 0xffff.
 */

/** The rare set's size once its members are no longer all rare (libFuzzer's -entropic_number_of_rarest_features). */
export const MAX_RARE = 100;
/** Executions that may hit a slot before it can leave the rare set (libFuzzer's -entropic_feature_frequency_threshold). */
export const RARE_THRESHOLD = 0xff;
/** An entry whose children outnumber this many times the corpus average gets no energy (libFuzzer's kMaxMutationFactor). */
export const MAX_MUTATION_FACTOR = 20;

/** What one corpus entry's children have hit of the rare set. */
export class LocalIncidence {
  /** Rare slot → executions of children that hit it (only slots in the rare set). */
  readonly counts = new Map<number, number>();
  /** Σ (c + 1) ln(c + 1) over `counts`. */
  sum = 0;
  /** Σ (c + 1) over `counts`. */
  incidence = 0;
  /** Children executed. */
  children = 0;

  /** One more child hit rare slot `slot`. */
  bump(slot: number): void {
    const c = this.counts.get(slot) ?? 0;
    this.counts.set(slot, c + 1);
    this.sum += xlnx(c + 2) - xlnx(c + 1);
    // A slot counted for the first time goes from absent to c + 1 = 2.
    this.incidence += c === 0 ? 2 : 1;
  }

  /** `slot` left the rare set. */
  drop(slot: number): void {
    const c = this.counts.get(slot);
    if (c === undefined) return;
    this.counts.delete(slot);
    this.sum -= xlnx(c + 1);
    this.incidence -= c + 1;
  }
}

function xlnx(x: number): number {
  return x * Math.log(x);
}

export class Entropic {
  /** Executions that hit each slot (saturating at 0xffff). */
  readonly freq: Uint16Array;
  private readonly isRare: Uint8Array;
  private readonly rare: number[] = [];
  /** The highest `freq` among rare slots (libFuzzer's FreqOfMostAbundantRareFeature). */
  private mostAbundant = 0;
  private readonly locals: LocalIncidence[] = [];
  /** Changes whenever the rare set does: every entry's energy moves then. */
  generation = 0;
  /** Children executed, over all entries. */
  children = 0;

  constructor(size: number, readonly maxRare = MAX_RARE, readonly threshold = RARE_THRESHOLD) {
    this.freq = new Uint16Array(size);
    this.isRare = new Uint8Array(size);
  }

  /** The rare set's size. */
  get rareCount(): number {
    return this.rare.length;
  }

  /** True when `slot` is in the rare set. */
  rareSlot(slot: number): boolean {
    return this.isRare[slot] === 1;
  }

  /** A new entry's incidence record (an entry is never removed). */
  newLocal(): LocalIncidence {
    const l = new LocalIncidence();
    this.locals.push(l);
    return l;
  }

  /**
   * Counts one execution's slots; `parent`: the entry it was made from
   * (null for a generated input, an extension or a replay). Slots hit for
   * the first time join the rare set.
   */
  observe(touched: ArrayLike<number>, parent: LocalIncidence | null): void {
    const freq = this.freq;
    const isRare = this.isRare;
    if (parent !== null) {
      parent.children++;
      this.children++;
    }
    for (let k = 0; k < touched.length; k++) {
      const s = touched[k]!;
      const f = freq[s]!;
      if (f === 0) this.addRare(s);
      if (f === 0xffff) continue;
      freq[s] = f + 1;
      if (isRare[s] === 1) {
        if (f + 1 > this.mostAbundant) this.mostAbundant = f + 1;
        if (parent !== null) parent.bump(s);
      }
    }
  }

  /**
   * The entropy estimate of `l` (nats): the rare features its children hit,
   * each with add-one smoothing, those they did not hit with one each, and
   * one abundant feature that every child hits. ln(rare + 1) for an entry
   * without children.
   */
  energy(l: LocalIncidence): number {
    const abundant = l.children + 1;
    const s = l.incidence + (this.rare.length - l.counts.size) + abundant;
    const e = l.sum + xlnx(abundant);
    return s > 0 ? Math.log(s) - e / s : 0;
  }

  /** `l`'s energy, or 0 when its children outnumber MAX_MUTATION_FACTOR times the average of `entries` entries. */
  weight(l: LocalIncidence, entries: number): number {
    if (entries > 0 && l.children / MAX_MUTATION_FACTOR > this.children / entries) return 0;
    return this.energy(l);
  }

  private addRare(slot: number): void {
    while (this.rare.length > this.maxRare && this.mostAbundant > this.threshold) {
      // Drop the most frequent rare slot; the next most frequent becomes the bound.
      let most = -1;
      let second = -1;
      for (let i = 0; i < this.rare.length; i++) {
        const f = this.freq[this.rare[i]!]!;
        if (most < 0 || f > this.freq[this.rare[most]!]!) {
          second = most;
          most = i;
        } else if (second < 0 || f > this.freq[this.rare[second]!]!) {
          second = i;
        }
      }
      const gone = this.rare[most]!;
      this.mostAbundant = second < 0 ? 0 : this.freq[this.rare[second]!]!;
      this.rare[most] = this.rare[this.rare.length - 1]!;
      this.rare.pop();
      this.isRare[gone] = 0;
      for (const l of this.locals) l.drop(gone);
    }
    this.rare.push(slot);
    this.isRare[slot] = 1;
    this.generation++;
  }
}
