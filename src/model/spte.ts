/**
 * SPTE encoding (pure helpers, no steps). An SPTE is a JavaScript number
 * (an exact integer below 2^53) so that cmpxchg compares values, as the
 * hardware does:
 *
 *   bits 0..7   flags: PRESENT, WRITABLE, LAST (leaf), ACCESSED, DIRTY, MMIO
 *   bits 8..    pfn (present SPTEs) — the page a leaf maps, or the page
 *               table of the child SP for a non-leaf SPTE
 *
 * MMIO SPTEs (non-present) carry MMIO | stored generation bits << 8 |
 * gfn << 28. REMOVED_SPTE is the frozen non-present value a TDP MMU writer
 * installs while it tears an entry down.
 */

export const SPTE_PRESENT = 0x1;
export const SPTE_WRITABLE = 0x2;
export const SPTE_LAST = 0x4;
export const SPTE_ACCESSED = 0x8;
export const SPTE_DIRTY = 0x10;
export const SPTE_MMIO = 0x20;
/** The frozen value of an entry being changed by another TDP MMU thread (non-present). */
export const REMOVED_SPTE = 0x40;

const PFN_SHIFT = 256; // 2^8
const MMIO_GEN_MUL = 256; // 2^8
const MMIO_GFN_MUL = 2 ** 28;

export function isPresent(spte: number): boolean {
  return (spte & SPTE_PRESENT) !== 0;
}

/**
 * The first index at or after `from` whose entry is present, or the table's
 * length. No steps: model loops that skip non-present entries within one
 * step (the kernel's loops over a table) use it, and so read each entry at
 * the same moment as a loop of their own would. Most entries are 0, which a
 * double compare rejects before the bit test.
 */
export function nextPresent(spt: Float64Array, from: number): number {
  const n = spt.length;
  for (let i = from; i < n; i++) {
    const e = spt[i]!;
    if (e !== 0 && (e & SPTE_PRESENT) !== 0) return i;
  }
  return n;
}

/** The first index at or after `from` whose entry is not 0, or the table's length (no steps, like nextPresent). */
export function nextNonZero(spt: Float64Array, from: number): number {
  const n = spt.length;
  for (let i = from; i < n; i++) if (spt[i] !== 0) return i;
  return n;
}

export function isLeaf(spte: number): boolean {
  return (spte & SPTE_LAST) !== 0;
}

export function isWritable(spte: number): boolean {
  return isPresent(spte) && (spte & SPTE_WRITABLE) !== 0;
}

export function isRemoved(spte: number): boolean {
  return spte === REMOVED_SPTE;
}

export function isMmio(spte: number): boolean {
  return !isPresent(spte) && (spte & SPTE_MMIO) !== 0;
}

export function pfnOf(spte: number): number {
  return Math.floor(spte / PFN_SHIFT);
}

/** A non-leaf SPTE pointing to the page table at `pfn`. */
export function makeNonLeaf(pfn: number): number {
  return pfn * PFN_SHIFT + SPTE_PRESENT;
}

/** A leaf SPTE mapping `pfn`. */
export function makeLeaf(pfn: number, writable: boolean, accessed = true, dirty = false): number {
  return pfn * PFN_SHIFT + SPTE_PRESENT + SPTE_LAST + (writable ? SPTE_WRITABLE : 0) + (accessed ? SPTE_ACCESSED : 0) + (dirty ? SPTE_DIRTY : 0);
}

/** The same leaf without write permission (A/D bits kept, as the kernel clears only the W bits). */
export function writeProtected(spte: number): number {
  return isWritable(spte) ? spte - SPTE_WRITABLE : spte;
}

/** An MMIO SPTE for `gfn` storing the generation bits `storedGen` (already masked). */
export function makeMmioSpte(gfn: number, storedGen: number): number {
  return gfn * MMIO_GFN_MUL + storedGen * MMIO_GEN_MUL + SPTE_MMIO;
}

export function mmioGfn(spte: number): number {
  return Math.floor(spte / MMIO_GFN_MUL);
}

export function mmioStoredGen(spte: number): number {
  return Math.floor(spte / MMIO_GEN_MUL) % 2 ** 20;
}

export function isDirty(spte: number): boolean {
  return (spte & SPTE_DIRTY) !== 0;
}

export function isAccessed(spte: number): boolean {
  return (spte & SPTE_ACCESSED) !== 0;
}

/** Printable form for traces. */
export function showSpte(spte: number): string {
  if (spte === 0) return '0';
  if (spte === REMOVED_SPTE) return 'REMOVED';
  if (isMmio(spte)) return `mmio(gfn ${mmioGfn(spte)}, gen ${mmioStoredGen(spte)})`;
  const f = `${isLeaf(spte) ? 'leaf' : 'table'}${isWritable(spte) ? ' W' : ''}${isDirty(spte) ? ' D' : ''}`;
  return `${f} pfn ${pfnOf(spte)}`;
}

/** Entries per page table and bits per level. */
export const PT_ENTRIES = 512;
export const PT_SHIFT = 9;

/** SPANS[l] = gfns covered by one entry at level l (2^(9(l-1))), for levels 0..6; a table, because `2 ** x` is slow on this hot path. */
const SPANS: readonly number[] = Array.from({ length: 8 }, (_, l) => 2 ** (PT_SHIFT * (l - 1)));

/** Gfns covered by one entry at `level` (1 = 4K). */
export function entrySpan(level: number): number {
  return SPANS[level] ?? 2 ** (PT_SHIFT * (level - 1));
}

/** Index of `gfn`'s entry in a page table of `level` (1 = 4K). */
export function ptIndex(gfn: number, level: number): number {
  return Math.floor(gfn / entrySpan(level)) % PT_ENTRIES;
}

/** First gfn covered by entry `idx` of the table at `level` that covers `base`. */
export function entryGfn(base: number, level: number, idx: number): number {
  const span = entrySpan(level + 1);
  const tableBase = Math.floor(base / span) * span;
  return tableBase + idx * entrySpan(level);
}
