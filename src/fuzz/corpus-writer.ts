import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** Messages to the writer thread. */
export type WriterRequest = { kind: 'write'; path: string; data: Uint8Array } | { kind: 'flush'; id: number };
/** Its answers. */
export type WriterReply = { kind: 'flushed'; id: number } | { kind: 'failed'; path: string; code: string };

/**
 * Writes corpus files on a worker thread, so that the fuzz loop never waits
 * for the disk: creating a file took 0.1-0.4 ms of the loop's own time here
 * (ext4; the first seconds of a CLI run write hundreds of inputs a second),
 * and fs.promises still spent a fifth of that on the main thread creating
 * file handles. A write costs the loop one postMessage. Files are written in
 * the order they were sent; flush() resolves when all sent before it are
 * on disk, with the first failure, if any.
 */
export class CorpusWriter {
  private readonly worker: Worker;
  private nextFlush = 0;
  private readonly waiting = new Map<number, () => void>();
  /** The first failed write: the file and the error code. */
  failure: { path: string; code: string } | null = null;

  constructor() {
    this.worker = new Worker(join(__dirname, 'corpus-writer-worker.js'));
    // An idle writer does not keep the process alive; a pending flush does (it has a listener and a message in flight).
    this.worker.unref();
    this.worker.on('message', (m: WriterReply) => {
      if (m.kind === 'failed') {
        this.failure ??= { path: m.path, code: m.code };
        return;
      }
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.();
    });
    this.worker.on('error', (e) => {
      this.failure ??= { path: '(writer thread)', code: e.message };
      for (const done of this.waiting.values()) done();
      this.waiting.clear();
    });
  }

  write(path: string, data: Uint8Array): void {
    this.worker.postMessage({ kind: 'write', path, data } satisfies WriterRequest);
  }

  /** Resolves when every file sent so far is written (or failed). */
  flush(): Promise<void> {
    const id = this.nextFlush++;
    return new Promise<void>((res) => {
      this.waiting.set(id, res);
      this.worker.ref();
      this.worker.postMessage({ kind: 'flush', id } satisfies WriterRequest);
    }).finally(() => {
      if (this.waiting.size === 0) this.worker.unref();
    });
  }

  /** Stops the thread (after a flush: nothing sent is lost). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
