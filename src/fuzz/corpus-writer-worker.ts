/**
 * The body of CorpusWriter's worker thread: writes each file it is sent
 * (atomically, not durably, as the corpus always did), in order, and
 * answers a flush once every earlier write is done. A failed write is
 * reported once per file; the main thread turns the first into the run's
 * error.
 */
import { parentPort } from 'node:worker_threads';
import { writeFileAtomic } from './fs-atomic';
import type { WriterReply, WriterRequest } from './corpus-writer';

const port = parentPort;
if (port !== null) {
  port.on('message', (m: WriterRequest) => {
    if (m.kind === 'flush') {
      port.postMessage({ kind: 'flushed', id: m.id } satisfies WriterReply);
      return;
    }
    try {
      writeFileAtomic(m.path, m.data, false);
    } catch (e) {
      port.postMessage({ kind: 'failed', path: m.path, code: (e as NodeJS.ErrnoException).code ?? String(e) } satisfies WriterReply);
    }
  });
}
