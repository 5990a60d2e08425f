/**
 * The `origins` suite: every execution up to each seed's first hit counted
 * once, by the origin of its input, and each first hit credited to the
 * origin of the input that made it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RACES, trialInProcess } from '../../bench/fuzz-bench';
import { inputOrigins } from '../../bench/input-origins';
import { INPUT_ORIGINS } from '../../src/fuzz/engine';

const race004 = RACES.find((r) => r.id === '004')!;

test('origins: the executions by origin add up to each trial\'s executions to its first hit, and the first hits to the seeds found', (t) => {
  const lines: string[] = [];
  const [r] = inputOrigins([race004], 4, 1, 30, {}, (s) => lines.push(s));
  t.is(r!.race, '004');
  t.is(r!.seeds, 4);
  t.deepEqual(r!.origins.map((c) => c.origin), [...INPUT_ORIGINS]);
  const trials = [1, 2, 3, 4].map((seed) => trialInProcess(race004, 'mmufuzz', seed, 30));
  t.is(r!.found, trials.filter((x) => x.execs !== null).length);
  t.is(r!.found, 4, 'seed 004\'s race is found within seconds on every seed');
  t.is(r!.origins.reduce((a, c) => a + c.execs, 0), trials.reduce((a, x) => a + x.execs!, 0));
  t.is(r!.origins.reduce((a, c) => a + c.firstHits, 0), r!.found);
  // Past the start (the empty input and 32 generated inputs), the engine's own kinds run.
  t.true(r!.origins.find((c) => c.origin === 'start')!.execs === 4 * 33 || r!.origins.some((c) => c.origin === 'start' && c.firstHits > 0));
  for (const c of r!.origins) t.true(c.execs === 0 ? c.stepsPerExec === 0 : c.stepsPerExec > 0, c.origin);
  t.regex(lines[0]!, /found on 4\/4 seeds, \d+ executions/);
  // Each origin's line: its first hits per 100k executions and per million steps run (the rate that costs time).
  const start = lines.find((l) => /^\s+start /.test(l))!;
  t.regex(start, /first hits\s+[\d.-]+ per 100k executions\s+[\d.-]+ per M steps$/);
  t.deepEqual(inputOrigins([race004], 4, 1, 30, {}, () => undefined), [r], 'deterministic for the seeds');
});

test('origins: without feedback every input after the start is generated', (t) => {
  const [r] = inputOrigins([race004], 2, 5, 30, { strategy: 'random', feedback: false }, () => undefined);
  for (const c of r!.origins) if (c.origin !== 'generate' && c.origin !== 'start') t.is(c.execs, 0, c.origin);
  t.true(r!.origins.find((c) => c.origin === 'start')!.execs > 0);
});

test('npm run bench origins: two variants, or a bad one, is one line and exit 2; one variant prints its name', (t) => {
  const main = join(__dirname, '..', '..', 'bench', 'main.js');
  for (const args of [['origins', '--variant', '{}', '--variant', '{}'], ['origins', '--variant', '{"nope": 1}']]) {
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, /^bench: /);
  }
  const ok = spawnSync(process.execPath, [main, 'origins', '--races', '004', '--seeds', '1', '--quick', '--variant', '{"unfavoredWeight":0.5}'], { encoding: 'utf8' });
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /origins: .* 1 seeds from seed 1, 8 s cap, \{"unfavoredWeight":0\.5\}/);
  t.regex(ok.stdout, /found on 1\/1 seeds/);
});
