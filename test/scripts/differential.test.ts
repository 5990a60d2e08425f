/**
 * scripts/differential.js: a build compared with itself has no difference
 * (exit 0); a directory that is not a build is one line and exit 2.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const script = join(root, 'scripts', 'differential.js');
const dist = join(root, 'dist');

test('a build compared with itself: every execution equal, exit 0', (t) => {
  const r = spawnSync(process.execPath, [script, dist, dist, '--inputs', '3'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stdout + r.stderr);
  const m = /executions compared: (\d+), differences: 0 \(under bytes 0, random walk 0, PCT 0\)/.exec(r.stdout);
  t.truthy(m);
  t.true(Number(m![1]) > 50);
});

test('bad arguments: one line on stderr, exit 2', (t) => {
  for (const args of [[join(root, 'src')], [], [dist, '--inputs', 'x']]) {
    const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1);
    t.regex(r.stderr, /^differential: /);
  }
});
