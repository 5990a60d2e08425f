/**
 * `mmufuzz replay <crash-file> [--trace] [--html FILE]`: re-executes a crash
 * file with the switches its sidecar names, checks the recorded signature,
 * prints the swimlane trace and optionally writes an HTML timeline. Exit 0
 * when the file reproduces its recorded outcome, 1 when it does not, 2 on
 * bad input.
 */
import { resolve } from 'node:path';
import { scenarioSource } from '../fuzz/scenario';
import { writeFileAtomic } from '../fuzz/fs-atomic';
import { renderHtmlTimeline } from '../report/html-timeline';
import { renderSwimlanes } from '../report/swimlane';
import { signatureOf } from '../runtime';
import { loadCrash } from './crash-file';
import { UsageError, writableDir } from './fuzz-command';

export function runReplay(file: string, o: { trace: boolean; html?: string }, out: (s: string) => void): number {
  const c = loadCrash(file);
  if (o.html !== undefined) writableDir(resolve(o.html, '..'), 'HTML output directory');
  const outcome = c.harness.execute(c.scenario, c.cfg, scenarioSource(c.scenario), { trace: o.trace || o.html !== undefined });
  const got = outcome.failure === null ? 'clean' : signatureOf(outcome.failure);
  const expected = c.sidecar.signature;
  if (o.trace) out(renderSwimlanes(outcome));
  if (o.html !== undefined) {
    const off = c.sidecar.switches.off;
    const html = renderHtmlTimeline(outcome, expected, [
      ['harness', c.sidecar.harness],
      ['switches', off.length === 0 ? 'all on' : `off: ${off.join(', ')}`],
      ['variants', c.sidecar.switches.variants.join(', ') || 'none'],
      ['file', file],
    ]);
    try {
      writeFileAtomic(o.html, html);
    } catch (e) {
      throw new UsageError(`cannot write ${o.html}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    out(`wrote ${o.html}`);
  }
  if (got === expected) {
    out(`reproduces: ${got} (${outcome.steps} steps)`);
    return 0;
  }
  out(`does not reproduce: expected ${expected}, got ${got}`);
  return 1;
}
