import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputFormatError, stripHeader, withHeader } from './codec';
import { writeFileAtomic } from './fs-atomic';

export function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

/**
 * Corpus directories: content-addressed input files (`<sha1>` of the file
 * bytes, header included). The first directory is written; all are read.
 * Files that are not mmufuzz inputs are reported and skipped, never deleted.
 */
export class CorpusStore {
  private readonly known = new Set<string>();

  constructor(readonly dirs: readonly string[]) {
    if (dirs.length > 0) mkdirSync(dirs[0]!, { recursive: true });
  }

  /** Reads every input of every directory (sorted by name) not read before; returns their payloads. */
  load(onBad: (file: string, why: string) => void): { name: string; payload: Uint8Array }[] {
    const out: { name: string; payload: Uint8Array }[] = [];
    for (const dir of this.dirs) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).sort()) {
        if (name.startsWith('.') || name.includes('.tmp-') || this.known.has(name)) continue;
        const file = join(dir, name);
        if (!statSync(file).isFile()) continue;
        this.known.add(name);
        try {
          out.push({ name, payload: stripHeader(readFileSync(file)) });
        } catch (e) {
          onBad(file, e instanceof InputFormatError ? e.message : String(e));
        }
      }
    }
    return out;
  }

  /** Adds a payload to the first directory (no-op when it exists). Returns the file name. */
  add(payload: Uint8Array): string {
    const file = withHeader(payload);
    const name = sha1(file);
    if (this.dirs.length > 0 && !this.known.has(name)) {
      const path = join(this.dirs[0]!, name);
      if (!existsSync(path)) writeFileAtomic(path, file, false);
    }
    this.known.add(name);
    return name;
  }
}
