import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

/**
 * Writes `data` to `file` atomically: a temporary file in the same
 * directory, then rename, so a killed process never leaves a partial file.
 * `durable` also fsyncs before the rename (survives a machine crash); the
 * corpus skips it, as libFuzzer does, since it writes hundreds of inputs a
 * second and an input lost to a power cut is found again.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, durable = true): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let closed = false;
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, file);
  } catch (e) {
    if (!closed) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw e;
  }
}
