import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputFormatError, stripHeader, withHeader } from './codec';
import { CorpusWriter } from './corpus-writer';
import { writeFileAtomic } from './fs-atomic';

export function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

/** A corpus input that could not be written (the directory became unwritable, the disk is full). */
export class CorpusWriteError extends Error {}

/**
 * Corpus directories: content-addressed input files (`<sha1>` of the file
 * bytes, header included). The first directory is written; all are read.
 * Files that are not mmufuzz inputs are reported and skipped, never deleted.
 */
export class CorpusStore {
  private readonly known = new Set<string>();
  /**
   * Set by background(): new inputs go to a writer thread (Fuzzer.runAsync,
   * which returns to the event loop); flush() waits for them. Null: add()
   * writes before it returns.
   */
  private writer: CorpusWriter | null = null;

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
      this.check();
      const path = join(this.dirs[0]!, name);
      if (this.writer !== null) {
        // An existing file (another worker's) is replaced by the same bytes.
        this.writer.write(path, file);
      } else if (!existsSync(path)) {
        try {
          writeFileAtomic(path, file, false);
        } catch (e) {
          throw writeError(path, (e as NodeJS.ErrnoException).code ?? String(e));
        }
      }
    }
    this.known.add(name);
    return name;
  }

  /** From now on, write new inputs on a writer thread (when there is a directory to write). */
  background(): void {
    if (this.writer === null && this.dirs.length > 0) this.writer = new CorpusWriter();
  }

  /** Throws the first failed background write, if any. */
  check(): void {
    const f = this.writer?.failure ?? null;
    if (f !== null) throw writeError(f.path, f.code);
  }

  /** Waits for every background write, stops the writer thread, and throws the first failure. */
  async flush(): Promise<void> {
    const w = this.writer;
    if (w === null) return;
    await w.flush();
    this.writer = null;
    await w.close();
    if (w.failure !== null) throw writeError(w.failure.path, w.failure.code);
  }
}

function writeError(path: string, code: string): CorpusWriteError {
  return new CorpusWriteError(`cannot write corpus input '${path}' (${code})`);
}
