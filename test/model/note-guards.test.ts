/**
 * A trace note whose text is built at run time (a template string, a
 * `describe()`, a map/join) is built only when a trace is recorded
 * (`if (t.ex.tracing) t.note(...)`): `note` drops its text when nothing is
 * traced, but its argument is built first, on every call of every
 * execution — a string per step's worth of garbage, and a memslot array
 * described on every fault. execution.ts, which implements notes, guards
 * its own with `this.event !== null`.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');
const DIRS = ['src/model', 'src/runtime', 'src/strategies', 'harnesses'];

/** Lines that call note() with a text built at run time (a template or a call) and no tracing guard on the line. */
export function unguardedNotes(source: string): number[] {
  const out: number[] = [];
  source.split('\n').forEach((line, i) => {
    if (/^\s*(\*|\/\/)/.test(line)) return;
    const m = /\.note\((.)/.exec(line);
    if (m === null) return;
    // A constant text, or a text passed on (SimThread.note to Execution.note), is not built here.
    const constant = /\.note\('[^'`$]*'\)/.test(line) || /\.note\([A-Za-z_$][\w$]*\)/.test(line);
    if (!constant && !/\btracing\b|event !== null/.test(line)) out.push(i + 1);
  });
  return out;
}

test('the rule sees unguarded notes built at run time, not guarded ones or constant texts', (t) => {
  const src = [
    "  t.note(`gfn ${gfn}`);",
    "  if (t.ex.tracing) t.note(`gfn ${gfn}`);",
    "  t.note('constant');",
    "  t.note(slot.describe());",
    "  // t.note(`a comment`)",
    "  if (this.event !== null) this.note(`${what}=${v}`);",
    "    this.ex.note(text);",
    "  t.note('a' + b);",
  ].join('\n');
  t.deepEqual(unguardedNotes(src), [1, 4, 8]);
});

test('model, runtime, strategy and harness code build note texts only when tracing', (t) => {
  const found: string[] = [];
  for (const dir of DIRS) {
    for (const f of readdirSync(join(ROOT, dir))) {
      if (!f.endsWith('.ts') || (dir === 'src/runtime' && f === 'execution.ts')) continue;
      for (const line of unguardedNotes(readFileSync(join(ROOT, dir, f), 'utf8'))) found.push(`${dir}/${f}:${line}`);
    }
  }
  t.deepEqual(found, []);
});
