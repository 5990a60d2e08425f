/**
 * Weights of the corpus entries in a Fenwick tree: a weighted pick and a
 * change of one entry's weight each cost O(log n). The entropic power
 * schedule (entropic.ts) changes a parent's weight after every execution of
 * one of its children, which a prefix-sum array would pay O(n) for.
 */
export class WeightTree {
  /** Fenwick array, 1-based: tree[i] sums the weights of (i - lowbit(i), i]. */
  private tree = new Float64Array(16);
  private readonly weights: number[] = [];

  get size(): number {
    return this.weights.length;
  }

  /** The weight of entry `i`. */
  weight(i: number): number {
    return this.weights[i]!;
  }

  /** Appends an entry of weight `w` (>= 0). */
  push(w: number): void {
    const n = this.weights.length + 1;
    if (n >= this.tree.length) this.grow();
    this.weights.push(w);
    // Node n sums the entries (n - lowbit(n), n]: the new one and the ones before it in that range.
    this.tree[n] = w + this.prefix(n - 1) - this.prefix(n - (n & -n));
  }

  /** Sets entry `i`'s weight to `w` (>= 0). */
  set(i: number, w: number): void {
    const delta = w - this.weights[i]!;
    if (delta === 0) return;
    this.weights[i] = w;
    const t = this.tree;
    const n = this.weights.length;
    for (let k = i + 1; k <= n; k += k & -k) t[k]! += delta;
  }

  /** Sets every weight at once (O(n)); `weightOf(i)` gives entry i's. Rebuilding also clears the rounding that many set() calls accumulate. */
  rebuild(weightOf: (i: number) => number): void {
    for (let i = 0; i < this.weights.length; i++) this.weights[i] = weightOf(i);
    this.build();
  }

  /** The weights summed. */
  total(): number {
    return this.prefix(this.weights.length);
  }

  /** The first `k` weights summed. */
  private prefix(k: number): number {
    let s = 0;
    for (let j = k; j > 0; j -= j & -j) s += this.tree[j]!;
    return s;
  }

  /**
   * The entry where the running sum of weights first exceeds `x`
   * (0 <= x < total()): a pick with probability proportional to weight when
   * x is uniform. Entries of weight 0 are never returned, unless every
   * weight is 0 (then the last entry).
   */
  find(x: number): number {
    const n = this.weights.length;
    const t = this.tree;
    let pos = 0;
    let rest = x;
    let step = 1;
    while (step * 2 <= n) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= n && t[next]! <= rest) {
        pos = next;
        rest -= t[next]!;
      }
    }
    // pos entries have a sum <= x; entry pos (0-based) is the first past it. Rounding may leave pos at n.
    if (pos >= n) {
      for (let i = n - 1; i >= 0; i--) if (this.weights[i]! > 0) return i;
      return n - 1;
    }
    return pos;
  }

  private grow(): void {
    this.tree = new Float64Array(this.tree.length * 2);
    this.build();
  }

  /** The tree from `weights` in O(n): each node adds itself into its parent. */
  private build(): void {
    const n = this.weights.length;
    const t = this.tree;
    t.fill(0);
    for (let i = 0; i < n; i++) t[i + 1] = this.weights[i]!;
    for (let k = 1; k <= n; k++) {
      const parent = k + (k & -k);
      if (parent <= n) t[parent]! += t[k]!;
    }
  }
}
