#!/usr/bin/env node
'use strict';
/**
 * `npm test` after the build: ava (TAP reporter) under c8 with a coverage
 * threshold, echoing everything, then one closing line CI can read:
 * `ava: N passed, N failed` (plus `, N skipped` when any were skipped).
 * Exit code: c8's (non-zero when a test failed or coverage is too low).
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const c8 = path.join(root, 'node_modules', 'c8', 'bin', 'c8.js');
const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const args = [c8, process.execPath, ava, '--tap', ...process.argv.slice(2)];

const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0;
let failed = 0;
let skipped = 0;
let buf = '';
const scan = (line) => {
  let m;
  if ((m = /^not ok \d+ /.exec(line))) failed++;
  else if ((m = /^ok \d+ .*# SKIP/.exec(line))) skipped++;
  else if ((m = /^ok \d+ /.exec(line))) passed++;
};
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buf += chunk.toString('utf8');
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    scan(buf.slice(0, i));
    buf = buf.slice(i + 1);
  }
});
child.on('close', (code, signal) => {
  if (buf !== '') scan(buf);
  const rc = signal ? 1 : code ?? 1;
  const tail = skipped > 0 ? `, ${skipped} skipped` : '';
  process.stdout.write(`\nava: ${passed} passed, ${failed} failed${tail}\n`);
  process.exit(rc !== 0 ? rc : failed > 0 ? 1 : 0);
});
