import { formatFailure } from '../runtime/failure';
import type { Outcome } from '../runtime/execution';

/** Options of the text swimlane renderer. */
export interface SwimlaneOptions {
  /** Show the locks each thread holds after its step (default true). */
  locks: boolean;
}

/**
 * Renders a traced outcome as text swimlanes: one column per thread, one line
 * per step, each cell the step's label (`kernel_function:field.action`), the
 * fields it touched with their values, and the locks held after it; the
 * oracle's message at the end. Columns are as wide as their widest cell.
 */
export function renderSwimlanes(outcome: Outcome, opts: Partial<SwimlaneOptions> = {}): string {
  const showLocks = opts.locks ?? true;
  const trace = outcome.trace;
  if (trace === null) throw new Error('renderSwimlanes needs an outcome recorded with trace: true');
  const n = outcome.threads.length;
  const cells: string[] = trace.map((e) => {
    let s = e.label;
    if (e.detail !== '') s += `  ${e.detail}`;
    if (showLocks && e.locks !== '') s += `  [${e.locks}]`;
    return s;
  });
  const width = outcome.threads.map((name) => name.length);
  trace.forEach((e, i) => {
    width[e.thread] = Math.max(width[e.thread]!, cells[i]!.length);
  });
  const stepW = Math.max(4, String(trace.length).length);
  const row = (first: string, cols: string[]): string =>
    `${first.padStart(stepW)} │ ${cols.map((c, i) => c.padEnd(width[i]!)).join(' │ ')}`.trimEnd();
  const lines: string[] = [];
  lines.push(row('step', outcome.threads.slice()));
  lines.push(`${'─'.repeat(stepW)}─┼─${width.map((w) => '─'.repeat(w)).join('─┼─')}`);
  trace.forEach((e, i) => {
    const cols = new Array<string>(n).fill('');
    cols[e.thread] = cells[i]!;
    lines.push(row(String(e.step), cols));
  });
  if (outcome.failure !== null) {
    lines.push('');
    lines.push(formatFailure(outcome.failure));
  } else {
    lines.push('');
    lines.push(`clean: ${outcome.steps} steps`);
  }
  return lines.join('\n');
}
