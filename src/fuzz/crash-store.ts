import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { signatureSlug } from '../runtime';
import { withHeader } from './codec';
import { sha1 } from './corpus-store';
import { writeFileAtomic } from './fs-atomic';

/** The metadata sidecar of a crash file (`crash-<sha1>.json`). */
export interface CrashSidecar {
  readonly format: 1;
  readonly harness: string;
  readonly switches: { readonly off: readonly string[]; readonly variants: readonly string[] };
  readonly signature: string;
  readonly kind: string;
  readonly site: string;
  readonly detail: string;
  readonly message: string;
  readonly step: number;
  readonly thread: string;
  readonly config: string;
  readonly program: Record<string, string[]>;
  readonly preemptions: { step: number; thread: number }[];
  readonly choices: number[];
  readonly random_switches: { readonly seed: number; readonly rate: number };
  /** PCT priorities (seed: random_switches.seed; the preemptions are its change points) instead of random switches. */
  readonly pct: boolean;
  readonly schedule: string;
  readonly steps: number;
  readonly found: { readonly strategy: string; readonly seed: number; readonly execs: number; readonly seconds: number; readonly mutation: string; readonly minimized: boolean };
}

/**
 * Crashes deduplicated by signature (DESIGN.md §7):
 * `<dir>/<harness>/<signature-slug>/crash-<sha1>` with its `.json` sidecar and
 * `.trace.txt`. Creating the signature's directory is the claim: a worker
 * that finds the directory already there treats the signature as known.
 */
export class CrashStore {
  private readonly seen = new Set<string>();

  constructor(readonly dir: string, readonly harness: string) {
    mkdirSync(join(dir, harness), { recursive: true });
    this.rescan();
  }

  /** Re-reads the signatures other runs (or workers) have stored. */
  rescan(): void {
    const base = join(this.dir, this.harness);
    if (!existsSync(base)) return;
    for (const slug of readdirSync(base)) this.seen.add(slug);
  }

  knows(signature: string): boolean {
    return this.seen.has(signatureSlug(signature));
  }

  /**
   * Stores a crash unless its signature is known. Returns the crash file's
   * path, or null when it was a duplicate.
   */
  store(signature: string, payload: Uint8Array, sidecar: CrashSidecar, trace: string): string | null {
    const slug = signatureSlug(signature);
    if (this.seen.has(slug)) return null;
    const sigDir = join(this.dir, this.harness, slug);
    try {
      mkdirSync(sigDir); // the claim: fails if another worker got there first
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        this.seen.add(slug);
        return null;
      }
      throw e;
    }
    this.seen.add(slug);
    return writeCrash(sigDir, payload, sidecar, trace);
  }

  /** Adds another reproducer (e.g. a minimized one) to a signature already stored. */
  storeMore(signature: string, payload: Uint8Array, sidecar: CrashSidecar, trace: string): string {
    const sigDir = join(this.dir, this.harness, signatureSlug(signature));
    mkdirSync(sigDir, { recursive: true });
    return writeCrash(sigDir, payload, sidecar, trace);
  }
}

/** Writes `crash-<sha1>` with its sidecar and trace into `dir` (the input last, so a crash file always has its sidecar). */
export function writeCrash(dir: string, payload: Uint8Array, sidecar: CrashSidecar, trace: string): string {
  const file = withHeader(payload);
  const base = join(dir, `crash-${sha1(file)}`);
  writeFileAtomic(`${base}.json`, JSON.stringify(sidecar, null, 2) + '\n');
  writeFileAtomic(`${base}.trace.txt`, trace + '\n');
  writeFileAtomic(base, file);
  return base;
}
