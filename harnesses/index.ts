/** The harness registry the CLI uses (the engine itself never imports harnesses). */
import type { Harness } from '../src/fuzz/harness';
import { harness as apicv } from './apicv';
import { harness as memslotRmaps } from './memslot-rmaps';
import { harness as mmioGen } from './mmio-gen';
import { harness as mmu } from './mmu';
import { harness as tdpRoots } from './tdp-roots';
import { harness as unsync } from './unsync';

export const HARNESSES: readonly Harness[] = [unsync, apicv, mmioGen, tdpRoots, memslotRmaps, mmu];

export function findHarness(name: string): Harness | undefined {
  return HARNESSES.find((h) => h.name === name);
}
