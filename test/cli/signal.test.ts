/**
 * A fuzz run stops gracefully on SIGINT / SIGTERM: a final summary, a done
 * event, exit 0 with no crash, and every input it kept on disk (the corpus
 * writer thread is flushed before `done`).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MAIN = resolve(__dirname, '../../src/cli/main.js');

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig} ends a fuzz run with its summary`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mmufuzz-sig-'));
    try {
      const child = spawn(process.execPath, [MAIN, 'fuzz', 'unsync', join(dir, 'corpus'), '--crashes', join(dir, 'crashes'), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      // Wait for the run to be under way (its first events), then signal it.
      await new Promise<void>((res) => {
        const check = (): void => {
          if (out.includes('"event":"new"')) res();
          else setTimeout(check, 20);
        };
        check();
      });
      child.kill(sig);
      const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      t.is(code, 0);
      const events = out.trim().split('\n').map((l) => JSON.parse(l) as { event: string; stopped?: string });
      const done = events.find((e) => e.event === 'done');
      t.is(done?.stopped, 'signal');
      const files = readdirSync(join(dir, 'corpus'));
      t.deepEqual(files.filter((f) => f.includes('.tmp-')), []);
      t.is(files.length, events.filter((e) => e.event === 'new').length, 'every kept input is on disk');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
