/**
 * Model and harness code must not create generator functions per call or
 * per execution (a `function*` expression inside another function): V8 gives
 * every generator function object its own prototype and map, so a fresh one
 * per execution made the scheduler's `next()` call site megamorphic and kept
 * each execution's objects alive across young-generation collections — a
 * third of the model's run time went to the GC. Module-level `function*`
 * declarations and class generator methods are shared and fine.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');
const DIRS = ['src/model', 'src/runtime', 'src/strategies', 'harnesses'];

/** `function*` not at the start of a line (after `export`): an expression or a nested declaration. */
export function nestedGenerators(source: string): number[] {
  const out: number[] = [];
  source.split('\n').forEach((line, i) => {
    if (/function\s*\*/.test(line) && !/^(export\s+)?function\s*\*/.test(line) && !/^\s*(\*|\/\/)/.test(line)) out.push(i + 1);
  });
  return out;
}

test('the rule sees generator expressions and nested declarations, not top-level ones', (t) => {
  t.deepEqual(nestedGenerators('export function* a() {}\nfunction* b() {}\n  const c = function* () {};\nf(function* (x) {});\n  function* d() {}\n * a comment on function* e\n'), [3, 4, 5]);
});

test('no generator function is created per call in model, runtime, strategy or harness code', (t) => {
  const found: string[] = [];
  for (const dir of DIRS) {
    for (const f of readdirSync(join(ROOT, dir))) {
      if (!f.endsWith('.ts')) continue;
      for (const line of nestedGenerators(readFileSync(join(ROOT, dir, f), 'utf8'))) found.push(`${dir}/${f}:${line}`);
    }
  }
  t.deepEqual(found, []);
});
