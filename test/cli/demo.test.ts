import test from 'ava';
import { main } from '../../src/cli/main';

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (s) => void out.push(s), (s) => void err.push(s));
  return { code, out, err };
}

for (const strategy of ['random', 'pct', 'dfs']) {
  test(`demo --strategy ${strategy} finds the lost update, traces it and replays it identically`, async (t) => {
    const r = await run(['demo', '--strategy', strategy, '--seed', '3']);
    t.is(r.code, 1);
    const text = r.out.join('\n');
    t.regex(text, /INVARIANT lost-update: counter increments lost/);
    t.regex(text, /schedule: mmufuzz-schedule v1 s=/);
    t.regex(text, /replay: reproduces the same failure/);
  });
}

test('demo --strategy bytes (the serial schedule) finds nothing and exits 0', async (t) => {
  const r = await run(['demo', '--strategy', 'bytes', '--executions', '3']);
  t.is(r.code, 0);
  t.regex(r.out.join('\n'), /no failure found/);
});
